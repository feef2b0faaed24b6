//! Prometheus metrics (`/metrics`). Names of the contract: `chat_connections_active`,
//! `chat_messages_total`, `chat_message_delivery_seconds`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CloseLabels {
    pub reason: &'static str,
}

/// Which limit refused a request: `visitor_create`, `ws_connect`, `ws_frame`, `rest_write`,
/// `login_address`, `login_account` or `password_busy` (every password slot stayed taken).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LimitLabels {
    pub limit: &'static str,
}

/// Why the hub refused a bus payload: `unsigned`, `bad_mac` or `malformed` (`delivery::seal`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RejectLabels {
    pub reason: &'static str,
}

/// How a webhook attempt ended: `delivered`, `retrying` or `failed` (given up).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    pub outcome: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub connections_active: Gauge,
    pub messages: Counter,
    pub delivery_seconds: Histogram,
    pub ws_closed: Family<CloseLabels, Counter>,
    pub ws_error_frames: Counter,
    pub bus_publish_failures: Counter,
    pub gap_fills: Counter,
    pub store_page_asks: Counter,
    pub store_page_reads: Counter,
    pub holes_skipped: Counter,
    pub bus_rejected: Family<RejectLabels, Counter>,
    pub bus_unconfirmed: Counter,
    pub rate_limited: Family<LimitLabels, Counter>,
    pub login_failures: Counter,
    pub ws_token_in_url: Counter,
    pub revoked_sessions_closed: Counter,
    pub webhook_deliveries: Family<WebhookLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let connections_active = Gauge::default();
        registry.register(
            "chat_connections_active",
            "Open websocket connections",
            connections_active.clone(),
        );
        let messages = Counter::default();
        registry.register("chat_messages", "Messages stored", messages.clone());
        // 0.25 ms .. ~8 s: local delivery is sub-millisecond, cross-replica a few ms.
        let delivery_seconds = Histogram::new(
            prometheus_client::metrics::histogram::exponential_buckets(0.00025, 2.0, 16),
        );
        registry.register(
            "chat_message_delivery_seconds",
            "Time from store commit to socket write of a live message",
            delivery_seconds.clone(),
        );
        let ws_closed = Family::<CloseLabels, Counter>::default();
        registry.register(
            "chat_ws_closed",
            "Websocket connections closed, by reason",
            ws_closed.clone(),
        );
        let ws_error_frames = Counter::default();
        registry.register(
            "chat_ws_error_frames",
            "Error frames sent to clients",
            ws_error_frames.clone(),
        );
        let bus_publish_failures = Counter::default();
        registry.register(
            "chat_bus_publish_failures",
            "Failed bus publishes (each retry counts)",
            bus_publish_failures.clone(),
        );
        let gap_fills = Counter::default();
        registry.register(
            "chat_gap_fills",
            "Store reads made to fill a gap in live delivery",
            gap_fills.clone(),
        );
        let store_page_asks = Counter::default();
        registry.register(
            "chat_store_page_asks",
            "Pages of messages sessions asked the store for (replay and gap fills)",
            store_page_asks.clone(),
        );
        let store_page_reads = Counter::default();
        registry.register(
            "chat_store_page_reads",
            "Store reads those asks made; the rest joined a read of the same page under way",
            store_page_reads.clone(),
        );
        let ws_token_in_url = Counter::default();
        registry.register(
            "chat_ws_token_in_url",
            "Websockets opened with the deprecated ?token= (the token lands in access logs)",
            ws_token_in_url.clone(),
        );
        let revoked_sessions_closed = Counter::default();
        registry.register(
            "chat_revoked_sessions_closed",
            "Websockets closed with 4001 because their token was revoked",
            revoked_sessions_closed.clone(),
        );
        let holes_skipped = Counter::default();
        registry.register(
            "chat_holes_skipped",
            "Seq holes skipped after the grace period (a writer died mid-append)",
            holes_skipped.clone(),
        );
        let bus_rejected = Family::<RejectLabels, Counter>::default();
        registry.register(
            "chat_bus_rejected",
            "Bus payloads dropped by this process because their MAC failed, by reason",
            bus_rejected.clone(),
        );
        let bus_unconfirmed = Counter::default();
        registry.register(
            "chat_bus_unconfirmed",
            "Bus frames a socket dropped because the store did not hold their seq (counted per socket)",
            bus_unconfirmed.clone(),
        );
        let rate_limited = Family::<LimitLabels, Counter>::default();
        registry.register(
            "chat_rate_limited",
            "Requests, connections and frames refused by a rate limit, by limit",
            rate_limited.clone(),
        );
        let login_failures = Counter::default();
        registry.register(
            "chat_login_failures",
            "Sign-ins refused for a wrong email or password",
            login_failures.clone(),
        );
        let webhook_deliveries = Family::<WebhookLabels, Counter>::default();
        registry.register(
            "chat_webhook_deliveries",
            "Webhook delivery attempts, by outcome (delivered, retrying, failed)",
            webhook_deliveries.clone(),
        );
        Self {
            registry,
            connections_active,
            messages,
            delivery_seconds,
            ws_closed,
            ws_error_frames,
            bus_publish_failures,
            gap_fills,
            store_page_asks,
            store_page_reads,
            holes_skipped,
            bus_rejected,
            bus_unconfirmed,
            rate_limited,
            login_failures,
            ws_token_in_url,
            revoked_sessions_closed,
            webhook_deliveries,
        }
    }

    pub fn webhook_delivery(&self, outcome: &'static str) {
        self.webhook_deliveries
            .get_or_create(&WebhookLabels { outcome })
            .inc();
    }

    pub fn closed(&self, reason: &'static str) {
        self.ws_closed.get_or_create(&CloseLabels { reason }).inc();
    }

    pub fn bus_rejected(&self, reason: &'static str) {
        self.bus_rejected
            .get_or_create(&RejectLabels { reason })
            .inc();
    }

    pub fn limited(&self, limit: &'static str) {
        self.rate_limited
            .get_or_create(&LimitLabels { limit })
            .inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("metrics encode");
        out
    }
}
