#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The process-wide worker threads behind `ParallelFor`: plain pthreads that spin briefly between jobs
/// and then sleep, so that the encoder's many sub-millisecond parallel loops (about 360 per image) are
/// handed to a second core in about a microsecond. libdispatch's `concurrentPerform` did not do that on
/// the benchmark machine: two 50 µs parts took 100 µs, the calling thread running both
/// (benchmarks/README.md, third pass), so a second thread bought the encoder about 7%.
///
/// One job at a time: a caller that finds the pool busy (another session's job) runs its parts itself.
/// Workers are started on demand (at most `maximumWorkers`) and live as long as the process, like
/// OpenBLAS's; a worker that cannot be started only means fewer helpers, never a lost part.
///
/// `@unchecked Sendable` because running one caller's non-`Sendable` closure on several threads at once is
/// the pool's purpose: `ParallelFor`'s parts capture pointers and write disjoint memory, which the checker
/// cannot see. The pool's own state is checked by construction: the job word and counters are atomics,
/// `body` is published by the release store of `state` and read only after an acquiring claim of that job,
/// and `sleepers` and `workerCount` are read and written under `mutex`.
package final class WorkerPool: @unchecked Sendable {
    package static let shared = WorkerPool()

    /// Most worker threads (a job of `parts` parts uses `parts - 1` of them and the calling thread).
    package static let maximumWorkers = 63
    /// Spin iterations (each a yield hint) a worker waits for the next job before going to sleep:
    /// some tens of microseconds, longer than the gaps between one layer's loops and the next.
    package static let spinIterations = 20_000

    /// The current job as one word, so a part is claimed with one compare-and-swap that also checks
    /// which job it belongs to: generation << 32 | next part << 16 | part count.
    private let state = Atomic<Int>(0)
    /// Parts of the current job that have finished.
    private let finished = Atomic<Int>(0)
    /// Whether a caller owns the pool (is publishing or running a job).
    private let busy = Atomic<Bool>(false)
    /// The current job's body, valid while its parts are unfinished (written before `state` publishes the
    /// job, read only after a part of that job was claimed).
    private var body: ((Int) -> Void)?

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    /// Guarded by `mutex`.
    private var sleepers = 0
    private var workerCount = 0

    private init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        wake = .allocate(capacity: 1)
        wake.initialize(to: pthread_cond_t())
        pthread_cond_init(wake, nil)
    }

    /// Runs `body(part)` for every part in `0..<parts` on the calling thread and up to `parts - 1`
    /// workers; returns when all parts are done. `parts` must be in 2...65535.
    package func run(parts: Int, _ body: (Int) -> Void) {
        precondition(parts >= 2 && parts <= 0xFFFF, "parts \(parts) out of range")
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for part in 0..<parts { body(part) }  // another caller's job is running
            return
        }
        defer { busy.store(false, ordering: .releasing) }
        startWorkers(upTo: min(parts - 1, Self.maximumWorkers))
        withoutActuallyEscaping(body) { body in
            self.body = body
            finished.store(0, ordering: .relaxed)
            let generation = (state.load(ordering: .relaxed) >> 32) &+ 1
            state.store((generation & 0x7FFF_FFFF) << 32 | parts, ordering: .releasing)
            pthread_mutex_lock(mutex)
            if sleepers > 0 { pthread_cond_broadcast(wake) }
            pthread_mutex_unlock(mutex)

            while let part = claim() { execute(part) }
            var spins = 0
            while finished.load(ordering: .acquiring) < parts {
                spinPause(spins)
                spins &+= 1
            }
            self.body = nil
        }
    }

    /// Claims the next part of the current job, or nil when every part has been claimed.
    private func claim() -> Int? {
        var current = state.load(ordering: .acquiring)
        while true {
            let next = (current >> 16) & 0xFFFF, parts = current & 0xFFFF
            if next >= parts { return nil }
            let (exchanged, original) = state.compareExchange(expected: current, desired: current + (1 << 16),
                                                              ordering: .acquiringAndReleasing)
            if exchanged { return next }
            current = original
        }
    }

    /// Runs one claimed part of the current job (by a worker or the caller) and counts it as finished.
    private func execute(_ part: Int) {
        body!(part)
        finished.add(1, ordering: .releasing)
    }

    private func hasWork() -> Bool {
        let current = state.load(ordering: .acquiring)
        return (current >> 16) & 0xFFFF < current & 0xFFFF
    }

    /// A worker's life: take parts while there are any, spin a while, then sleep until woken.
    fileprivate func workerLoop() -> Never {
        while true {
            while let part = claim() { execute(part) }
            var spins = 0
            while !hasWork() && spins < Self.spinIterations {
                spinPause(spins)
                spins += 1
            }
            if hasWork() { continue }
            pthread_mutex_lock(mutex)
            sleepers += 1
            while !hasWork() { pthread_cond_wait(wake, mutex) }
            sleepers -= 1
            pthread_mutex_unlock(mutex)
        }
    }

    private func startWorkers(upTo wanted: Int) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while workerCount < wanted {
            var attributes = pthread_attr_t()
            pthread_attr_init(&attributes)
            pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
            var thread = pthread_t()
            let started = pthread_create(&thread, &attributes, { _ -> UnsafeMutableRawPointer? in
                WorkerPool.shared.workerLoop()
            }, nil)
            pthread_attr_destroy(&attributes)
            if started != 0 { return }  // run with the workers there are
            workerCount += 1
        }
    }

    /// One iteration of a wait loop: every 256th gives the core away (`sched_yield`), so that a spinning
    /// thread on a busy machine lets a runnable one in without a system call on every iteration.
    @inline(__always)
    private func spinPause(_ iteration: Int) {
        if iteration & 0xFF == 0xFF { sched_yield() }
    }
}
