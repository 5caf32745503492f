#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs two independent pieces of multi-millisecond work at the same time: one on a thread of its own
/// (a plain pthread: libdispatch did not reliably hand work to a second thread on the benchmark machine,
/// benchmarks/README.md "Third pass"), the other on the calling thread. Used by the model load (the
/// decoder's tensors and token-gate table beside the encoder's tensors and Winograd filters).
package enum ConcurrentPair {
    /// Returns `(foreground(), background())`, `background` run on a new thread while `foreground` runs on
    /// this one (both on this thread, one after the other, when no thread can be started). Both always
    /// finish before this returns; when both throw, `foreground`'s error is the one rethrown, so which
    /// error a caller sees does not depend on timing.
    package static func run<Foreground, Background>(
        _ foreground: () throws -> Foreground,
        background: @escaping @Sendable () throws -> Background
    ) throws -> (Foreground, Background) {
        let task = BackgroundTask(background)
        var thread = pthread_t()
        let context = Unmanaged.passRetained(task).toOpaque()
        let started = pthread_create(&thread, nil, { context in
            let task = Unmanaged<AnyBackgroundTask>.fromOpaque(context!).takeRetainedValue()
            task.execute()
            return nil
        }, context) == 0
        if !started {
            Unmanaged<BackgroundTask<Background>>.fromOpaque(context).release()
        }
        let first = Result { try foreground() }
        if started {
            pthread_join(thread, nil)
        } else {
            task.execute()
        }
        return (try first.get(), try task.result!.get())
    }
}

/// The type-erased face of a `BackgroundTask` that the thread entry point (a C function pointer, which
/// cannot capture a generic parameter) calls.
private class AnyBackgroundTask: @unchecked Sendable {
    package func execute() {}
}

/// A closure and, once it has run, its result. Written by one thread and read by the other only after
/// `pthread_join`, which orders the two.
private final class BackgroundTask<Value>: AnyBackgroundTask, @unchecked Sendable {
    private let body: @Sendable () throws -> Value
    private(set) var result: Result<Value, any Error>?

    package init(_ body: @escaping @Sendable () throws -> Value) {
        self.body = body
    }

    package override func execute() {
        result = Result { try body() }
    }
}
