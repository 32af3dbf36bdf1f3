/// Named counters a structure reports about itself: sizes, node and tuple counts, rehashes,
/// hits and misses. Ordered, so reports print them the way the structure lists them.
public struct LookupStatistics: Hashable, Sendable, Sequence {
  public struct Counter: Hashable, Sendable {
    public var name: String
    public var value: Int
    public init(_ name: String, _ value: Int) {
      self.name = name
      self.value = value
    }
  }

  public var counters: [Counter]

  public init(_ counters: [Counter] = []) { self.counters = counters }

  public init(_ pairs: KeyValuePairs<String, Int>) {
    self.counters = pairs.map { Counter($0.key, $0.value) }
  }

  /// The value of a counter, or nil when the structure has no such counter.
  public subscript(name: String) -> Int? {
    counters.first { $0.name == name }?.value
  }

  public func makeIterator() -> IndexingIterator<[Counter]> { counters.makeIterator() }
}
