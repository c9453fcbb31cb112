import NIOPosix

/// Runs a task's jobs on a single-thread `NIOThreadPool`: the same thread that runs the
/// blocking SQLite calls that task submits to the pool.
///
/// The log's writer awaits one statement after another. On the shared concurrency pool,
/// every await came back through a queue busy with request handlers and processors, and
/// under load those waits were most of a commit's time. Preferring this executor, the
/// writer, its statements and their completions all take turns on one thread, in
/// submission order, without a thread switch between them.
final class ThreadPoolTaskExecutor: TaskExecutor {
    private let pool: NIOThreadPool

    /// `pool` must have exactly one thread, so that jobs run in the order they are enqueued.
    init(pool: NIOThreadPool) {
        self.pool = pool
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        pool.submit { _ in job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
