//! The notice sink's settings: one sink at most, a topic that is an SNS ARN, an http(s) URL.

use atendo_operator::settings::NoticeArgs;
use clap::Parser;

#[derive(Parser)]
struct Wrapper {
    #[command(flatten)]
    notices: NoticeArgs,
}

fn parse(args: &[&str]) -> Result<NoticeArgs, String> {
    Wrapper::try_parse_from(std::iter::once("atendo-operator").chain(args.iter().copied()))
        .map(|w| w.notices)
        .map_err(|e| e.to_string())
}

#[test]
fn none_is_no_sink_and_the_source_has_a_default() {
    let args = parse(&[]).unwrap();
    assert_eq!(args.notice_sns_topic_arn, None);
    assert_eq!(args.notice_cloudevents_url, None);
    assert_eq!(args.notice_source, "/atendo-operator");
}

#[test]
fn an_sns_topic_must_be_an_sns_arn_and_gives_its_region() {
    let arn = "arn:aws:sns:eu-west-1:123456789012:tenant-ready";
    let args = parse(&[&format!("--notice-sns-topic-arn={arn}")]).unwrap();
    assert_eq!(args.notice_sns_topic_arn.as_deref(), Some(arn));
    assert_eq!(
        atendo_operator::notices::sns::region_of(arn),
        Some("eu-west-1")
    );
    for bad in [
        "tenant-ready",
        "arn:aws:sqs:eu-west-1:123456789012:q",
        "arn:aws:sns::1:t",
    ] {
        let error = parse(&[&format!("--notice-sns-topic-arn={bad}")]).unwrap_err();
        assert!(error.contains("SNS topic ARN"), "{bad}: {error}");
    }
}

#[test]
fn one_sink_at_most_and_an_endpoint_only_with_a_topic() {
    assert!(
        parse(&[
            "--notice-sns-topic-arn=arn:aws:sns:us-east-1:1:t",
            "--notice-cloudevents-url=https://hooks.example.com/atendo",
        ])
        .is_err()
    );
    assert!(parse(&["--notice-sns-endpoint=http://127.0.0.1:5000"]).is_err());
    assert!(parse(&["--notice-cloudevents-url=ftp://hooks.example.com"]).is_err());
    assert!(parse(&["--notice-cloudevents-url=https://hooks.example.com/atendo"]).is_ok());
}
