//! Attachment stores: S3 presigned URLs against moto's S3 server, and the local store's signed
//! URLs through its own router on a real listener.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chat_server::uploads::local::LocalBlobStore;
use chat_server::uploads::s3::{S3BlobStore, client_config};
use chat_server::uploads::{BlobStore, Download};
use tower::ServiceExt;

const SECRET: &[u8] = b"a test secret that is long enough for HMAC-SHA256";

fn as_file(filename: &'static str, content_type: &'static str) -> Download<'static> {
    Download {
        filename,
        content_type,
    }
}

/// moto accepts any signature (checked: a tampered one, another Content-Type, a longer or
/// shorter body all get 200), so what real S3 enforces is checked here as what the URL signs.
mod s3 {
    use super::*;

    async fn store() -> (testkit::s3::S3, S3BlobStore) {
        let s3 = testkit::s3::s3();
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_sdk_s3::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "testing", "testing", None, None, "tests",
            ))
            .load()
            .await;
        let config = client_config(&sdk, Some(&s3.endpoint));
        let bucket = testkit::unique("atendo-test-");
        aws_sdk_s3::Client::from_conf(config.clone())
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create the bucket");
        (s3, S3BlobStore::new(config, &bucket))
    }

    #[tokio::test]
    async fn a_presigned_put_then_a_presigned_get_round_trips_the_bytes() {
        let (_s3, store) = store().await;
        let bytes = b"%PDF-1.7 not really".to_vec();
        let put = store
            .presign_put("conversations/c1/a1", "application/pdf", bytes.len() as u64)
            .await
            .unwrap();
        let remaining = put.expires_at - chrono::Utc::now();
        assert!(
            remaining > chrono::Duration::minutes(14) && remaining <= chrono::Duration::minutes(15),
            "{remaining}"
        );
        let http = reqwest::Client::new();
        let response = http
            .put(&put.url)
            .header(header::CONTENT_TYPE, "application/pdf")
            .header(header::IF_NONE_MATCH, "*")
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{:?}",
            response.text().await
        );

        let get = store
            .presign_get("conversations/c1/a1", as_file("a1.pdf", "application/pdf"))
            .await
            .unwrap();
        let response = http.get(&get.url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/pdf");
        assert_eq!(response.bytes().await.unwrap(), bytes);
    }

    #[tokio::test]
    async fn presigned_urls_use_path_style_on_a_custom_endpoint_and_sign_the_content_type() {
        let (s3, store) = store().await;
        let put = store.presign_put("k", "image/png", 3).await.unwrap();
        assert!(
            put.url
                .starts_with(&format!("{}/atendo-test-", s3.endpoint)),
            "{}",
            put.url
        );
        let signed = put.url.split("X-Amz-SignedHeaders=").nth(1).unwrap();
        let signed = signed.split('&').next().unwrap();
        assert!(signed.contains("content-type"), "{signed}");
        assert!(signed.contains("content-length"), "{signed}");
        assert!(put.url.contains("X-Amz-Expires=900"), "{}", put.url);
    }

    async fn put_once(store: &S3BlobStore, key: &str, content_type: &str, bytes: &[u8]) -> String {
        let put = store
            .presign_put(key, content_type, bytes.len() as u64)
            .await
            .unwrap();
        let http = reqwest::Client::new();
        let mut request = http
            .put(&put.url)
            .header(header::CONTENT_TYPE, content_type);
        for (name, value) in &put.headers {
            request = request.header(*name, value);
        }
        let response = request.body(bytes.to_vec()).send().await.unwrap();
        assert!(
            response.status().is_success(),
            "{:?}",
            response.text().await
        );
        put.url
    }

    #[tokio::test]
    async fn an_upload_url_is_good_for_one_upload_and_signs_if_none_match() {
        let (_s3, store) = store().await;
        let put = store.presign_put("k", "text/plain", 5).await.unwrap();
        assert_eq!(put.headers, [("if-none-match", "*".to_string())]);
        let signed = put.url.split("X-Amz-SignedHeaders=").nth(1).unwrap();
        assert!(
            signed.split('&').next().unwrap().contains("if-none-match"),
            "{signed}"
        );
        let http = reqwest::Client::new();
        let replay = || {
            http.put(&put.url)
                .header(header::CONTENT_TYPE, "text/plain")
                .header(header::IF_NONE_MATCH, "*")
                .body("hello")
                .send()
        };
        assert_eq!(replay().await.unwrap().status(), 200);
        // The replay of the same URL (within its 15 minutes) cannot replace the bytes.
        let again = replay().await.unwrap();
        assert_eq!(again.status(), 412, "{:?}", again.text().await);
    }

    #[tokio::test]
    async fn exists_tells_whether_the_bytes_arrived() {
        let (_s3, store) = store().await;
        assert!(!store.exists("c/a/late.txt").await.unwrap());
        put_once(&store, "c/a/late.txt", "text/plain", b"now").await;
        assert!(store.exists("c/a/late.txt").await.unwrap());
    }

    #[tokio::test]
    async fn downloads_are_files_except_raster_images_whatever_the_uploader_declared() {
        let (_s3, store) = store().await;
        let page = b"<script>alert(document.domain)</script>";
        put_once(&store, "c/a/page.html", "text/html", page).await;
        put_once(&store, "c/a/pic.svg", "image/svg+xml", page).await;
        put_once(&store, "c/a/photo.png", "image/png", b"\x89PNG").await;
        let http = reqwest::Client::new();
        for (key, name, ct, disposition) in [
            ("c/a/page.html", "page.html", "text/html", "attachment"),
            ("c/a/pic.svg", "pic.svg", "image/svg+xml", "attachment"),
            ("c/a/photo.png", "photo.png", "image/png", "inline"),
        ] {
            let get = store.presign_get(key, as_file(name, ct)).await.unwrap();
            let response = http.get(&get.url).send().await.unwrap();
            assert_eq!(response.status(), 200, "{key}");
            let got = response.headers()[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap()
                .to_string();
            assert!(
                got.starts_with(&format!("{disposition}; filename=\"{name}\"")),
                "{key}: {got}"
            );
        }
    }
}

mod local {
    use super::*;

    /// A directory removed when the test ends.
    struct Dir(PathBuf);

    impl Dir {
        fn new() -> Self {
            let dir = std::env::temp_dir().join(testkit::unique("atendo-blobs-"));
            std::fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn store(dir: &Dir) -> Arc<LocalBlobStore> {
        Arc::new(LocalBlobStore::new(&dir.0, SECRET, None))
    }

    async fn send(
        store: &Arc<LocalBlobStore>,
        request: Request<Body>,
    ) -> (StatusCode, serde_json::Value) {
        let response = store.clone().router().oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    fn put(url: &str, content_type: &str, body: impl Into<Body>) -> Request<Body> {
        Request::put(url)
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap()
    }

    fn error_code(json: &serde_json::Value) -> &str {
        json["error"]["code"].as_str().unwrap_or("<no error code>")
    }

    #[tokio::test]
    async fn a_signed_put_then_a_signed_get_round_trips_the_bytes_over_http() {
        let dir = Dir::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let store = Arc::new(LocalBlobStore::new(
            &dir.0,
            SECRET,
            Some(&format!("{base}/")),
        ));
        let server = tokio::spawn(axum::serve(listener, store.clone().router()).into_future());

        let key = "conversations/c1/a1/relatório final.png";
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let put = store
            .presign_put(key, "image/png", bytes.len() as u64)
            .await
            .unwrap();
        assert!(
            put.url
                .starts_with(&format!("{base}/api/v1/blobs/conversations/c1/a1/")),
            "{}",
            put.url
        );
        let http = reqwest::Client::new();
        let response = http
            .put(&put.url)
            .header(header::CONTENT_TYPE, "image/png")
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{:?}", response.text().await);

        let get = store
            .presign_get(key, as_file("relatório final.png", "image/png"))
            .await
            .unwrap();
        let response = http.get(&get.url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "image/png");
        assert_eq!(
            response.headers()[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff"
        );
        assert_eq!(response.bytes().await.unwrap(), bytes);
        server.abort();
    }

    #[tokio::test]
    async fn urls_are_relative_without_a_public_url_and_expire_in_fifteen_minutes() {
        let dir = Dir::new();
        let put = store(&dir).presign_put("a", "text/plain", 1).await.unwrap();
        assert!(put.url.starts_with("/api/v1/blobs/a?"), "{}", put.url);
        let remaining = put.expires_at - chrono::Utc::now();
        assert!(
            remaining > chrono::Duration::minutes(14) && remaining <= chrono::Duration::minutes(15),
            "{remaining}"
        );
    }

    #[tokio::test]
    async fn a_tampered_signature_is_rejected() {
        let dir = Dir::new();
        let store = store(&dir);
        let url = store.presign_put("a", "text/plain", 2).await.unwrap().url;
        let (head, sig) = url.split_once("sig=").unwrap();
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        let tampered = format!("{head}sig={flipped}{}", &sig[1..]);
        let (status, json) = send(&store, put(&tampered, "text/plain", "hi")).await;
        assert_eq!(
            (status, error_code(&json)),
            (StatusCode::FORBIDDEN, "invalid_signature")
        );
    }

    #[tokio::test]
    async fn another_size_or_content_type_than_signed_is_rejected() {
        let dir = Dir::new();
        let store = store(&dir);
        let url = store.presign_put("a", "text/plain", 2).await.unwrap().url;
        let (status, json) = send(&store, put(&url, "text/html", "hi")).await;
        assert_eq!(
            (status, error_code(&json)),
            (StatusCode::FORBIDDEN, "invalid_signature")
        );
        let bigger = url.replace("size=2", "size=2000");
        let (status, json) = send(&store, put(&bigger, "text/plain", "hi")).await;
        assert_eq!(
            (status, error_code(&json)),
            (StatusCode::FORBIDDEN, "invalid_signature")
        );
    }

    #[tokio::test]
    async fn an_expired_url_is_rejected() {
        let dir = Dir::new();
        let store = Arc::new(LocalBlobStore::new(&dir.0, SECRET, None).with_expiry(Duration::ZERO));
        let url = store.presign_put("a", "text/plain", 2).await.unwrap().url;
        // Expiry has one-second resolution.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (status, json) = send(&store, put(&url, "text/plain", "hi")).await;
        assert_eq!(
            (status, error_code(&json)),
            (StatusCode::FORBIDDEN, "url_expired")
        );
    }

    #[tokio::test]
    async fn a_body_larger_than_signed_is_rejected_without_reading_it_all() {
        let dir = Dir::new();
        let store = store(&dir);
        let url = store
            .presign_put("big", "application/octet-stream", 10)
            .await
            .unwrap()
            .url;
        // Declared too large up front.
        let (status, json) =
            send(&store, put(&url, "application/octet-stream", vec![0u8; 11])).await;
        assert_eq!(
            (status, error_code(&json)),
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        );
        // Streamed without a length, and endless: only a server that stops reading answers.
        let endless = futures::stream::repeat_with(|| {
            Ok::<_, std::io::Error>(bytes::Bytes::from_static(&[7; 4096]))
        });
        let request = put(&url, "application/octet-stream", Body::from_stream(endless));
        let (status, json) = tokio::time::timeout(Duration::from_secs(10), send(&store, request))
            .await
            .expect("the server kept reading an oversized upload");
        assert_eq!(
            (status, error_code(&json)),
            (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large")
        );
        // A short body is refused too, and no attempt left anything behind.
        let (status, json) =
            send(&store, put(&url, "application/octet-stream", vec![0u8; 9])).await;
        assert_eq!(
            (status, error_code(&json)),
            (StatusCode::BAD_REQUEST, "size_mismatch")
        );
        assert!(!dir.0.join("big").exists());
        assert_eq!(std::fs::read_dir(dir.0.join(".tmp")).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn keys_that_climb_out_of_the_directory_are_rejected() {
        let dir = Dir::new();
        let store = store(&dir);
        assert!(
            store
                .presign_put("../escape", "text/plain", 1)
                .await
                .is_err()
        );
        assert!(
            store
                .presign_get("a/../../etc/passwd", as_file("passwd", "text/plain"))
                .await
                .is_err()
        );
        let valid = store.presign_put("a", "text/plain", 2).await.unwrap().url;
        let query = valid.split_once('?').unwrap().1;
        for path in [
            "/api/v1/blobs/..%2F..%2Fescape",
            "/api/v1/blobs/a/../../escape",
            "/api/v1/blobs/.meta/a",
        ] {
            let (status, json) =
                send(&store, put(&format!("{path}?{query}"), "text/plain", "hi")).await;
            assert_eq!(
                (status, error_code(&json)),
                (StatusCode::BAD_REQUEST, "invalid_key"),
                "{path}"
            );
        }
        assert!(!dir.0.parent().unwrap().join("escape").exists());
    }

    #[tokio::test]
    async fn a_missing_object_is_a_json_404_and_a_put_signature_does_not_open_a_get() {
        let dir = Dir::new();
        let store = store(&dir);
        let get = store
            .presign_get("never-uploaded", as_file("never-uploaded", "text/plain"))
            .await
            .unwrap()
            .url;
        let (status, json) = send(&store, Request::get(&get).body(Body::empty()).unwrap()).await;
        assert_eq!(
            (status, error_code(&json)),
            (StatusCode::NOT_FOUND, "not_found")
        );

        let put_url = store
            .presign_put("never-uploaded", "text/plain", 0)
            .await
            .unwrap()
            .url;
        let (status, json) =
            send(&store, Request::get(&put_url).body(Body::empty()).unwrap()).await;
        assert_eq!(
            (status, error_code(&json)),
            (StatusCode::FORBIDDEN, "invalid_signature")
        );
    }

    #[tokio::test]
    async fn a_second_put_to_one_url_is_refused_and_the_first_bytes_stay() {
        let dir = Dir::new();
        let store = store(&dir);
        let url = store
            .presign_put("c/a/f.txt", "text/plain", 2)
            .await
            .unwrap()
            .url;
        assert!(!store.exists("c/a/f.txt").await.unwrap());
        let (status, _) = send(&store, put(&url, "text/plain", "hi")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(store.exists("c/a/f.txt").await.unwrap());
        let (status, json) = send(&store, put(&url, "text/plain", "yo")).await;
        assert_eq!(
            (status, error_code(&json)),
            (StatusCode::CONFLICT, "already_uploaded")
        );
        assert_eq!(std::fs::read(dir.0.join("c/a/f.txt")).unwrap(), b"hi");
        assert_eq!(std::fs::read_dir(dir.0.join(".tmp")).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn downloads_are_files_except_raster_images() {
        let dir = Dir::new();
        let store = store(&dir);
        for (key, ct, disposition) in [
            (
                "c/a/page.html",
                "text/html",
                "attachment; filename=\"page.html\"",
            ),
            (
                "c/a/pic.svg",
                "image/svg+xml",
                "attachment; filename=\"pic.svg\"",
            ),
            (
                "c/a/photo.png",
                "image/png",
                "inline; filename=\"photo.png\"",
            ),
        ] {
            let url = store.presign_put(key, ct, 2).await.unwrap().url;
            assert_eq!(send(&store, put(&url, ct, "<a")).await.0, StatusCode::OK);
            let name = key.rsplit('/').next().unwrap();
            let get = store.presign_get(key, as_file("x", ct)).await.unwrap().url;
            let response = store
                .clone()
                .router()
                .oneshot(Request::get(&get).body(Body::empty()).unwrap())
                .await
                .unwrap();
            let got = response.headers()[header::CONTENT_DISPOSITION]
                .to_str()
                .unwrap();
            assert!(got.starts_with(disposition), "{name}: {got}");
        }
    }
}
