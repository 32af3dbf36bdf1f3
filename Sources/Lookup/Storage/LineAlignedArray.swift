// LineAlignedArray — a growable array of plain-data elements whose storage starts on a
// 64-byte cache-line boundary.
//
// Why
//   A Swift `Array` keeps its elements 32 bytes after the start of a heap object that the
//   allocator aligns to 16 bytes, so an array of 64-byte records (the SPD's `PolicyRule`,
//   sized to be "one cache line") in practice starts at 48 mod 64: every record straddles
//   two lines and every candidate check costs two cache misses instead of one. Measured on
//   acl1_10k and acl1_100k: the arrays of 10k and 100k rules both started at 48 mod 64.
//   This type allocates with `lookup_table_allocate` (64-byte aligned; 2 MiB-aligned with
//   transparent huge pages from 2 MiB), so element i of a 64-byte type is exactly line i.
//
// Semantics
//   A value type with copy-on-write, like `Array`: copies share storage until one of them is
//   mutated. Elements must be `BitwiseCopyable` (no references, no deinitialisation), so
//   storage is copied and freed without per-element work.
//
// Complexity
//   Subscript O(1); append amortised O(1) (capacity grows by a quarter, at least 64);
//   the first mutation after a copy O(n).
//
// Thread safety
//   As `Array`: concurrent reads of one value are safe; a mutation needs exclusive access.

import CLookupSupport

/// A copy-on-write array of plain-data elements stored from a cache-line boundary.
public struct LineAlignedArray<Element: BitwiseCopyable>: RandomAccessCollection, MutableCollection {
  @usableFromInline
  internal final class _Storage {
    @usableFromInline let elements: UnsafeMutablePointer<Element>
    /// The count, behind a pointer: a class's stored `var` pays a dynamic exclusivity check
    /// (a runtime call) on every access from outside the class, and registry updates read
    /// and write it several times each.
    @usableFromInline let _count: UnsafeMutablePointer<Int>
    @usableFromInline let capacity: Int

    @inlinable var count: Int {
      @inline(__always) get { _count.pointee }
      @inline(__always) set { _count.pointee = newValue }
    }

    @usableFromInline
    init(capacity: Int) {
      let capacity = Swift.max(capacity, 1)
      guard let raw = lookup_table_allocate(capacity * MemoryLayout<Element>.stride) else {
        fatalError("LineAlignedArray: out of memory allocating \(capacity) elements")
      }
      elements = raw.bindMemory(to: Element.self, capacity: capacity)
      _count = .allocate(capacity: 1)
      _count.initialize(to: 0)
      self.capacity = capacity
    }

    @usableFromInline
    func copy(capacity: Int) -> _Storage {
      let copy = _Storage(capacity: Swift.max(capacity, count))
      copy.elements.initialize(from: elements, count: count)
      copy.count = count
      return copy
    }

    deinit {
      lookup_table_free(elements)
      _count.deallocate()
    }
  }

  @usableFromInline internal var _storage: _Storage

  /// An empty array.
  @inlinable
  public init() { _storage = _Storage(capacity: 0) }

  /// `count` copies of `element`.
  @inlinable
  public init(repeating element: Element, count: Int) {
    precondition(count >= 0, "LineAlignedArray: negative count")
    _storage = _Storage(capacity: count)
    _storage.elements.initialize(repeating: element, count: count)
    _storage.count = count
  }

  /// `count` elements written by `initializer` into uninitialised, line-aligned storage
  /// (it must initialise all of them).
  @inlinable
  public init(unsafeUninitializedCount count: Int, initializingWith initializer: (UnsafeMutablePointer<Element>) -> Void) {
    precondition(count >= 0, "LineAlignedArray: negative count")
    _storage = _Storage(capacity: count)
    initializer(_storage.elements)
    _storage.count = count
  }

  /// The elements of a sequence, in order.
  @inlinable
  public init<S: Sequence>(_ elements: S) where S.Element == Element {
    self.init()
    for element in elements { append(element) }
  }

  @inlinable public var startIndex: Int { 0 }
  @inlinable public var endIndex: Int { _storage.count }
  @inlinable public var count: Int { _storage.count }
  /// How many elements fit before the storage is reallocated.
  @inlinable public var capacity: Int { _storage.capacity }

  @inlinable
  public subscript(position: Int) -> Element {
    get {
      precondition(position >= 0 && position < _storage.count, "LineAlignedArray: index out of range")
      return _storage.elements[position]
    }
    set {
      precondition(position >= 0 && position < _storage.count, "LineAlignedArray: index out of range")
      _makeUniqueKeepingCapacity()
      _storage.elements[position] = newValue
    }
    // In place: `a[i].field = x` writes the field, not a copy of the whole element.
    _modify {
      precondition(position >= 0 && position < _storage.count, "LineAlignedArray: index out of range")
      _makeUniqueKeepingCapacity()
      yield &_storage.elements[position]
    }
  }

  /// Copies the storage if it is shared (the uniqueness test inline, the copy out of line).
  @inlinable @inline(__always)
  mutating func _makeUniqueKeepingCapacity() {
    if _slowPath(!isKnownUniquelyReferenced(&_storage)) { _copyStorage() }
  }

  @inlinable @inline(never)
  mutating func _copyStorage() { _storage = _storage.copy(capacity: _storage.capacity) }

  /// Appends an element, growing the storage by a quarter (at least 64 elements) when full.
  @inlinable
  public mutating func append(_ element: Element) {
    let count = _storage.count
    _makeRoom(forAppending: 1)
    (_storage.elements + count).initialize(to: element)
    _storage.count = count + 1
  }

  /// Makes the storage unique with room for `n` more elements, growing it by at least a
  /// quarter (and at least 64 elements) when it must grow.
  @inlinable
  mutating func _makeRoom(forAppending n: Int) {
    let count = _storage.count
    if count + n > _storage.capacity {
      _makeUnique(capacity: Swift.max(count + n, count + Swift.max(64, count / 4)))
    } else {
      _makeUnique(capacity: _storage.capacity)
    }
  }

  /// Appends `n` copies of `element`, growing the storage by at least a quarter when it must.
  @inlinable
  public mutating func append(repeating element: Element, count n: Int) {
    precondition(n >= 0, "LineAlignedArray: negative count")
    let count = _storage.count
    _makeRoom(forAppending: n)
    (_storage.elements + count).initialize(repeating: element, count: n)
    _storage.count = count + n
  }

  /// Appends the elements of a collection, in order.
  @inlinable
  public mutating func append<C: Collection>(contentsOf elements: C) where C.Element == Element {
    let count = _storage.count, n = elements.count
    _makeRoom(forAppending: n)
    var written = 0
    for element in elements {
      precondition(written < n, "LineAlignedArray.append(contentsOf:): the collection has more elements than its count")
      (_storage.elements + count + written).initialize(to: element)
      written += 1
    }
    precondition(written == n, "LineAlignedArray.append(contentsOf:): the collection has fewer elements than its count")
    _storage.count = count + n
  }

  /// Ensures room for `minimumCapacity` elements without another reallocation.
  @inlinable
  public mutating func reserveCapacity(_ minimumCapacity: Int) {
    if minimumCapacity > _storage.capacity {
      _storage = _storage.copy(capacity: minimumCapacity)
    } else {
      _makeUnique(capacity: _storage.capacity)
    }
  }

  /// Calls `body` with the elements' contiguous, line-aligned storage.
  @inlinable
  public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Element>) throws -> R) rethrows -> R {
    try withExtendedLifetime(_storage) {
      try body(UnsafeBufferPointer(start: _storage.elements, count: _storage.count))
    }
  }

  /// Calls `body` with the elements' storage, made unique first: for a mutation that writes
  /// many elements, one uniqueness check instead of one per element written.
  @inlinable
  public mutating func withUnsafeMutableBufferPointer<R>(_ body: (UnsafeMutableBufferPointer<Element>) throws -> R) rethrows -> R {
    _makeUniqueKeepingCapacity()
    return try withExtendedLifetime(_storage) {
      try body(UnsafeMutableBufferPointer(start: _storage.elements, count: _storage.count))
    }
  }

  /// The elements' storage, valid while this value is alive and not mutated: for read paths
  /// that already hold the array's owner borrowed (a lookup on a table) and must not pay for
  /// a closure. The caller keeps the owner alive (this pointer does not): never take it from
  /// a temporary.
  @inlinable
  public var _unsafeElements: UnsafeBufferPointer<Element> {
    UnsafeBufferPointer(start: _storage.elements, count: _storage.count)
  }

  @inlinable
  mutating func _makeUnique(capacity: Int) {
    if !isKnownUniquelyReferenced(&_storage) || capacity != _storage.capacity {
      _storage = _storage.copy(capacity: capacity)
    }
  }
}

extension LineAlignedArray: Equatable where Element: Equatable {
  @inlinable
  public static func == (lhs: Self, rhs: Self) -> Bool { lhs.elementsEqual(rhs) }
}

extension LineAlignedArray: @unchecked Sendable where Element: Sendable {}

extension LineAlignedArray: ExpressibleByArrayLiteral {
  @inlinable
  public init(arrayLiteral elements: Element...) { self.init(elements) }
}
