import EventflowMetrics
import Prometheus

/// Metrics of the `accounts` processor.
struct AccountsMetrics: Sendable {
    let indexed: Counter
    let ignoredStale: Counter
    let callbacksFired: Counter
    let callbacksCancelled: Counter
    let callbacksFailed: Counter
    let callbackAttempts: Counter
    let callbacksPending: Gauge
    let callbacksWaitingToRetry: Gauge

    let retryAfterClamped: Counter

    init(registry: PrometheusCollectorRegistry) {
        retryAfterClamped = PeerClient.retryAfterClampedCounter(peer: "callbacks", registry: registry)
        indexed = registry.counter("eventflow_accounts_indexed_total", help: "Account updates kept as the newest version of their account")
        ignoredStale = registry.counter(
            "eventflow_accounts_ignored_stale_total", help: "Account updates ignored because the account already had that version or a newer one")
        callbacksFired = registry.counter("eventflow_account_callbacks_fired_total", help: "Account callbacks the callback URL accepted")
        callbacksCancelled = registry.counter(
            "eventflow_account_callbacks_cancelled_total", help: "Pending account callbacks cancelled by a newer version of the account")
        callbacksFailed = registry.counter(
            "eventflow_account_callbacks_failed_total", help: "Account callbacks the callback URL rejected permanently (4xx other than 429)")
        callbackAttempts = registry.counter("eventflow_account_callback_attempts_total", help: "Callback requests sent, retries included")
        callbacksPending = registry.gauge("eventflow_account_callbacks_pending", help: "Account callbacks waiting for their time or a retry")
        callbacksWaitingToRetry = registry.gauge(
            "eventflow_account_callback_retries_waiting", help: "Account callbacks that failed for now and wait for their next attempt")
    }
}
