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
/// Several jobs at once: each caller (one session's call) publishes its job in one of `slotCount` slots,
/// and the workers take parts from every slot, so that on a many-core machine several sessions, each with
/// several threads, all get helpers. A caller that finds every slot taken runs its parts itself. Workers
/// are started on demand, as many as the running jobs can use together (each job of `parts` parts uses the
/// calling thread and at most `parts - 1` helpers; at most `maximumWorkers` in all), and live as long as
/// the process, like OpenBLAS's; a worker that cannot be started only means fewer helpers, never a lost
/// part. Which thread runs a part never changes what it computes: a job's parts are fixed by its caller.
///
/// `@unchecked Sendable` because running one caller's non-`Sendable` closure on several threads at once is
/// the pool's purpose: `ParallelFor`'s parts capture pointers and write disjoint memory, which the checker
/// cannot see. The pool's own state is checked by construction: each slot's job word, counter and owner
/// flag are atomics, its `body` is published by the release store of its `state` and read only after an
/// acquiring claim of that job, and `sleepers` and `workerCount` are read and written under `mutex`.
package final class WorkerPool: @unchecked Sendable {
    package static let shared = WorkerPool()

    /// Most worker threads (a job of `parts` parts uses `parts - 1` of them and the calling thread).
    package static let maximumWorkers = 63
    /// Jobs that can run at once.
    package static let slotCount = 16
    /// Spin iterations (each a yield hint) a worker waits for the next job before going to sleep:
    /// some tens of microseconds, longer than the gaps between one layer's loops and the next.
    package static let spinIterations = 20_000

    /// One job's place: owned by one caller from publishing the job until all its parts are done.
    private final class Slot: @unchecked Sendable {
        /// The job as one word, so a part is claimed with one compare-and-swap that also checks which job it
        /// belongs to: generation << 32 | next part << 16 | part count.
        let state = Atomic<Int>(0)
        /// Parts of the job that have finished.
        let finished = Atomic<Int>(0)
        /// Whether a caller owns the slot.
        let owned = Atomic<Bool>(false)
        /// The job's body, valid while its parts are unfinished (written before `state` publishes the job,
        /// read only after a part of that job was claimed).
        var body: ((Int) -> Void)?
    }

    private let slots: [Slot]
    /// Helpers the running jobs can use together: the sum of their `parts - 1`.
    private let demand = Atomic<Int>(0)

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>
    /// Guarded by `mutex`.
    private var sleepers = 0
    private var workerCount = 0

    private init() {
        slots = (0..<Self.slotCount).map { _ in Slot() }
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
        guard let slot = acquireSlot() else {
            for part in 0..<parts { body(part) }  // as many jobs as there are slots are running
            return
        }
        defer { slot.owned.store(false, ordering: .releasing) }
        let helpers = min(parts - 1, Self.maximumWorkers)
        let wanted = demand.wrappingAdd(helpers, ordering: .relaxed).newValue
        defer { demand.wrappingSubtract(helpers, ordering: .relaxed) }
        startWorkers(upTo: min(wanted, Self.maximumWorkers))
        withoutActuallyEscaping(body) { body in
            slot.body = body
            slot.finished.store(0, ordering: .relaxed)
            let generation = (slot.state.load(ordering: .relaxed) >> 32) &+ 1
            slot.state.store((generation & 0x7FFF_FFFF) << 32 | parts, ordering: .releasing)
            pthread_mutex_lock(mutex)
            if sleepers > 0 { pthread_cond_broadcast(wake) }
            pthread_mutex_unlock(mutex)

            while let part = Self.claim(slot) { Self.execute(slot, part) }
            var spins = 0
            while slot.finished.load(ordering: .acquiring) < parts {
                spinPause(spins)
                spins &+= 1
            }
            slot.body = nil
        }
    }

    private func acquireSlot() -> Slot? {
        for slot in slots where slot.owned.compareExchange(expected: false, desired: true,
                                                           ordering: .acquiring).exchanged {
            return slot
        }
        return nil
    }

    /// Claims the next part of a slot's current job, or nil when every part has been claimed.
    private static func claim(_ slot: Slot) -> Int? {
        var current = slot.state.load(ordering: .acquiring)
        while true {
            let next = (current >> 16) & 0xFFFF, parts = current & 0xFFFF
            if next >= parts { return nil }
            let (exchanged, original) = slot.state.compareExchange(
                expected: current, desired: current + (1 << 16), ordering: .acquiringAndReleasing)
            if exchanged { return next }
            current = original
        }
    }

    /// Runs one claimed part of a slot's job (by a worker or the caller) and counts it as finished.
    private static func execute(_ slot: Slot, _ part: Int) {
        slot.body!(part)
        slot.finished.add(1, ordering: .releasing)
    }

    private func hasWork() -> Bool {
        slots.contains { slot in
            let current = slot.state.load(ordering: .acquiring)
            return (current >> 16) & 0xFFFF < current & 0xFFFF
        }
    }

    /// A worker's life: take parts from any slot while there are any (staying with the slot it last took
    /// from, for its caches), spin a while, then sleep until woken.
    fileprivate func workerLoop() -> Never {
        var home = 0
        while true {
            var took = false
            for offset in 0..<slots.count {
                let index = (home + offset) % slots.count
                if let part = Self.claim(slots[index]) {
                    Self.execute(slots[index], part)
                    home = index
                    took = true
                    break
                }
            }
            if took { continue }
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
