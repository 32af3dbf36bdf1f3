/// One change of an all-or-nothing batch (`LookupStructure.applyAtomically`).
public enum StructureChange<Entry, EntryID> {
  /// Insert an entry (the structure's `insert`).
  case insert(Entry)
  /// Remove the entry with this id (the structure's `remove`).
  case remove(EntryID)
}

extension StructureChange: Sendable where Entry: Sendable, EntryID: Sendable {}
extension StructureChange: Equatable where Entry: Equatable, EntryID: Equatable {}

/// Why a batch was refused: the first change that failed and its error. Nothing of the batch
/// was applied.
public struct BatchUpdateError: Error, Hashable, Sendable, CustomStringConvertible {
  /// The failing change's position in the batch (0-based).
  public var position: Int
  /// What the structure said about it.
  public var error: LookupError

  public init(position: Int, error: LookupError) {
    self.position = position
    self.error = error
  }

  public var description: String { "change #\(position + 1) of the batch failed (\(error)); nothing was applied" }
}

/// What an applied batch did, change by change.
public struct BatchUpdateResult<Entry, EntryID> {
  /// The id each `.insert` got, in batch order.
  public var insertedIDs: [EntryID] = []
  /// The entry each `.remove` took out, in batch order.
  public var removedEntries: [Entry] = []

  public init() {}
}

extension LookupStructure {
  /// Applies the changes in order to `self`, stopping at the first failure (which leaves the
  /// earlier changes applied): the building block of `applyAtomically`.
  public mutating func applyInOrder(_ changes: [StructureChange<Entry, EntryID>])
  throws(BatchUpdateError) -> BatchUpdateResult<Entry, EntryID> {
    var result = BatchUpdateResult<Entry, EntryID>()
    for (position, change) in changes.enumerated() {
      do {
        switch change {
        case .insert(let entry): result.insertedIDs.append(try insert(entry))
        case .remove(let id): result.removedEntries.append(try remove(id))
        }
      } catch {
        throw BatchUpdateError(position: position, error: error)
      }
    }
    return result
  }

  /// The default all-or-nothing batch for value types: the batch is applied to a copy, which
  /// replaces `self` only when every change succeeded. Copy-on-write makes the copy lazily:
  /// a batch costs one copy of the storage it touches (O(size) once per batch, not per change),
  /// and a failed batch leaves `self` untouched — lookups, ids and ages exactly as before.
  public mutating func _applyAtomicallyByCopying(_ changes: [StructureChange<Entry, EntryID>])
  throws(BatchUpdateError) -> BatchUpdateResult<Entry, EntryID> {
    var scratch = self
    let result = try scratch.applyInOrder(changes)
    self = scratch
    return result
  }
}
