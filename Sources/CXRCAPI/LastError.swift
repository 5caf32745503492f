import Glibc

/// The calling thread's last error message, kept in a pthread key as a malloc'ed C string (freed when the
/// thread exits or the next failure replaces it). This is the C layer's only mutable global state.
enum LastError {
    /// Created once, on first use (Swift globals are initialized exactly once, thread-safely).
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        let result = pthread_key_create(&key) { message in free(message) }
        precondition(result == 0, "pthread_key_create failed (\(result))")
        return key
    }()

    /// An empty C string for threads without a failure.
    private static var empty: UnsafePointer<CChar> {
        UnsafeRawPointer(("" as StaticString).utf8Start).assumingMemoryBound(to: CChar.self)
    }

    /// Replaces the calling thread's message.
    static func set(_ message: String) {
        let copy = strdup(message.isEmpty ? "unknown error" : message)  // NULL only when out of memory
        let old = pthread_getspecific(key)
        pthread_setspecific(key, copy)
        free(old)
    }

    /// The calling thread's message, or "" when it has none. Valid until its next `set` on this thread.
    static var current: UnsafePointer<CChar> {
        guard let message = pthread_getspecific(key) else { return empty }
        return UnsafePointer(message.assumingMemoryBound(to: CChar.self))
    }
}
