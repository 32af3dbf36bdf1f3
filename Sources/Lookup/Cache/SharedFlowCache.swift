#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A plain mutex (pthread): Swift's `Mutex` would require the cache, which is not `Sendable`,
/// to be sent into it.
final class _CacheLock: @unchecked Sendable {
  private let _mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

  init() { pthread_mutex_init(_mutex, nil) }

  deinit {
    pthread_mutex_destroy(_mutex)
    _mutex.deallocate()
  }

  @inline(__always)
  func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
    pthread_mutex_lock(_mutex)
    defer { pthread_mutex_unlock(_mutex) }
    return try body()
  }
}

/// One `FlowCache` for many threads, behind a lock.
///
/// Every lookup takes the lock, because a cache lookup writes (the entry on a miss, the LRU
/// stamp and counters on a hit); changes take it too, so a change and its invalidation are
/// one atomic step and no thread ever sees a stale answer. Correct under any mix of readers
/// and writers; it scales like its lock — the baseline the lock-free variants of a later issue
/// are measured against.
public final class SharedFlowCache<Base: TargetedInvalidation>: @unchecked Sendable where Base.Key: CacheKey {
  // `@unchecked`: every access to `_cache` holds `_lock`.
  private let _lock = _CacheLock()
  private let _cache: FlowCache<Base>

  public init(base: Base, configuration: FlowCacheConfiguration) {
    _cache = FlowCache(base: base, configuration: configuration)
  }

  public func lookup(_ key: Base.Key) -> Base.Result {
    _lock.withLock { _cache.lookup(key) }
  }

  @discardableResult
  public func insert(_ entry: Base.Entry) throws(LookupError) -> Base.EntryID {
    try _lock.withLock { () throws(LookupError) in try _cache.insert(entry) }
  }

  @discardableResult
  public func remove(_ id: Base.EntryID) throws(LookupError) -> Base.Entry {
    try _lock.withLock { () throws(LookupError) in try _cache.remove(id) }
  }

  /// Runs `body` with exclusive access to the cache (e.g. to read counters or change the base).
  public func withCache<R>(_ body: (FlowCache<Base>) throws -> R) rethrows -> R {
    return try _lock.withLock { () throws -> R in try body(_cache) }
  }

  public var counters: FlowCacheCounters { _lock.withLock { _cache.counters } }
}

/// One `FlowCache` per reader thread — the old kernel's per-CPU flow cache.
///
/// Reader `i` uses cache `i` only, so its lookups never contend with other readers (each
/// cache still has its own lock, which only a writer ever contends for). A change is applied
/// to every cache's base in turn under that cache's lock: each reader sees the change at the
/// moment its own cache takes it, and never a stale answer after that. Each cache holds its
/// own copy of the base (copy-on-write: the copies share storage until the first change), so
/// after changes memory grows with the number of threads — the price of no shared state.
public final class PerThreadFlowCaches<Base: TargetedInvalidation>: @unchecked Sendable where Base.Key: CacheKey {
  public let caches: [SharedFlowCache<Base>]

  public init(base: Base, threads: Int, configuration: FlowCacheConfiguration) {
    caches = (0..<max(1, threads)).map { _ in SharedFlowCache(base: base, configuration: configuration) }
  }

  /// A lookup by reader `thread` (0-based).
  public func lookup(_ key: Base.Key, thread: Int) -> Base.Result {
    caches[thread].lookup(key)
  }

  /// Applies an insert to every thread's base.
  /// - Throws: what the base throws; the first cache refuses before any changes, since all
  ///   bases hold the same entries.
  public func insert(_ entry: Base.Entry) throws(LookupError) {
    for cache in caches { try cache.insert(entry) }
  }

  /// Applies a remove to every thread's base.
  public func remove(_ id: Base.EntryID) throws(LookupError) {
    for cache in caches { try cache.remove(id) }
  }

  /// The sum of all threads' counters.
  public var counters: FlowCacheCounters { caches.reduce(FlowCacheCounters()) { $0 + $1.counters } }
}
