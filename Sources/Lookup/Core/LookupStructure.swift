/// The one protocol every lookup structure conforms to, SPD and SAD alike.
///
/// A structure maps a `Key` (what a packet gives) to a `Result` (what the datapath needs),
/// holding `Entry` values (policies, SAs) that callers insert and remove by `EntryID`.
/// The runner (`lookupbench`), the flow cache and the concurrency wrappers take any
/// conforming type as a generic parameter, so they specialise to direct calls: nothing on
/// the lookup path goes through an existential.
///
/// Guarantees every conformer gives:
/// - `lookup` and the batch `lookup` allocate nothing and never mutate shared state: a
///   structure that is not being mutated may be read from any number of threads.
/// - The answer is the one `SEMANTICS.md` defines: a conformer answers exactly what the
///   reference structure (`LinearPolicyTable`, `LinearSAD`) answers for the same history of
///   inserts and removes. The differential tests hold every conformer to this.
/// - A failed `insert` or `remove` throws a `LookupError` and leaves the structure as it was.
///
/// SPD- and SAD-specific operations are refinements: `PolicyDatabase`,
/// `SecurityAssociationDatabase`.
public protocol LookupStructure {
  /// What a packet gives a lookup (`FlowKey`, `SALookupKey`).
  associatedtype Key
  /// What a lookup answers (`PolicyLookupResult`, `SALookupResult`): a small value.
  associatedtype Result
  /// What the structure holds (`Policy`, `SecurityAssociation`).
  associatedtype Entry
  /// How callers name an entry to remove it (policy index, SA id).
  associatedtype EntryID: Hashable

  /// Inserts an entry and returns its id (generated when the entry asks for one).
  /// - Throws: `LookupError` for an invalid or conflicting entry; nothing changes then.
  @discardableResult
  mutating func insert(_ entry: Entry) throws(LookupError) -> EntryID

  /// Removes an entry and returns it.
  /// - Throws: `LookupError` when no entry has that id; nothing changes then.
  @discardableResult
  mutating func remove(_ id: EntryID) throws(LookupError) -> Entry

  /// The answer for one key.
  func lookup(_ key: Key) -> Result

  /// The answers for a burst of keys, written to `results[i]` for `keys[i]`.
  /// `results.count` must be at least `keys.count`. Structures override it to overlap the
  /// cache misses of a burst (hash everything, prefetch, then probe).
  func lookup(_ keys: UnsafeBufferPointer<Key>, into results: UnsafeMutableBufferPointer<Result>)

  /// Applies a batch of inserts and removes completely, or — when a change fails — not at
  /// all: the structure is then exactly as before (same answers, ids and ages).
  /// - Throws: `BatchUpdateError` naming the first failing change.
  @discardableResult
  mutating func applyAtomically(_ changes: [StructureChange<Entry, EntryID>])
  throws(BatchUpdateError) -> BatchUpdateResult<Entry, EntryID>

  /// The number of entries.
  var count: Int { get }

  /// The bytes the structure holds on the heap for its entries and indexes (an estimate from
  /// capacities and strides; exact figures come from jemalloc in the benchmarks).
  var memoryFootprint: Int { get }

  /// Named counters describing the structure.
  var statistics: LookupStatistics { get }
}

extension LookupStructure {
  /// Value types get all-or-nothing batches by applying them to a copy (see
  /// `_applyAtomicallyByCopying`); reference types must implement `applyAtomically` themselves.
  @discardableResult
  public mutating func applyAtomically(_ changes: [StructureChange<Entry, EntryID>])
  throws(BatchUpdateError) -> BatchUpdateResult<Entry, EntryID> {
    precondition(!(Self.self is AnyClass), "\(Self.self) is a class: it must implement applyAtomically itself")
    return try _applyAtomicallyByCopying(changes)
  }

  /// The default batch lookup: one `lookup` per key.
  @inlinable
  public func lookup(_ keys: UnsafeBufferPointer<Key>, into results: UnsafeMutableBufferPointer<Result>) {
    precondition(results.count >= keys.count, "batch result buffer too small")
    for i in keys.indices {
      results[i] = lookup(keys[i])
    }
  }
}
