import Testing
import Lookup

/// Every SPD structure against `LinearPolicyTable` on the shipped ClassBench sets: single and
/// batch lookups on every header, before and after removing and re-inserting policies.
@Suite("SPD differential (ClassBench)")
struct SPDDifferentialTests {
  static let sets = ["acl1_1k", "fw1_1k", "ipc1_1k"]
  static let structures = StructureCatalog.policyDatabaseNames.filter { $0 != "linear" }

  @Test(arguments: structures, sets)
  func agreesWithLinearUnderChurn(name: String, set: String) throws {
    try churn(try StructureCatalog.makePolicyDatabase(named: name), name: name, set: set)
  }

  /// The tuple space table's grouped batch search (used from 32k policies on) forced on
  /// at every size, so that the 1k sets exercise it too.
  @Test(arguments: sets)
  func groupedBatchSearchAgreesWithLinearUnderChurn(set: String) throws {
    try churn(TupleSpaceTable(groupSearchFrom: 0), name: "tuplespace (grouped batches)", set: set)
    try churn(HashedSelectorTable(thresholds: .kernelDefault, groupSearchFrom: 0), name: "hashed (grouped batches)",
              set: set)
  }

  func churn(_ database: any PolicyDatabase, name: String, set: String) throws {
    var database = database
    let policies = try ClassBenchFormat.readRules(path: "\(shippedData)/\(set).rules").policies()
    let keys = try ClassBenchFormat.readTrace(path: "\(shippedData)/\(set).trace").map { $0.flowKey() }
    var reference = try LinearPolicyTable(inserting: policies)
    for policy in policies { try database.insert(policy) }
    try compare(database, reference, keys, "\(name) on \(set), fresh")
    var random = SeededGenerator(seed: 2026)
    for round in 0..<3 {
      let victims = policies.shuffled(using: &random).prefix(policies.count * 3 / 10)
      for policy in victims {
        try database.remove(policy.index)
        try reference.remove(policy.index)
      }
      try compare(database, reference, keys, "\(name) on \(set), round \(round) after removals")
      for policy in victims.prefix(victims.count / 2) {
        try database.insert(policy)
        try reference.insert(policy)
      }
      // The others come back through `update` (an add, since they are gone) with a new
      // priority (so a new place in the order) and action.
      for var policy in victims.dropFirst(victims.count / 2) {
        policy.priority = UInt32.random(in: 0..<UInt32(policies.count), using: &random)
        policy.action = .block
        try database.update(policy)
        try reference.update(policy)
      }
      try compare(database, reference, keys, "\(name) on \(set), round \(round) after re-inserts")
      // Policies that never left are replaced in place: same selector, new priority and
      // action (the index unlinks the old rule while its slot may already hold the new one).
      let live = reference.policies.shuffled(using: &random).prefix(policies.count / 10)
      for var policy in live {
        policy.priority = UInt32.random(in: 0..<UInt32(policies.count), using: &random)
        policy.action = policy.action == .block ? .allow : .block
        #expect(try database.update(policy) == policy.index)
        try reference.update(policy)
      }
      try compare(database, reference, keys, "\(name) on \(set), round \(round) after replacements")
    }
  }

  func compare(_ database: any PolicyDatabase, _ reference: LinearPolicyTable, _ keys: [FlowKey], _ label: String) throws {
    (database as? any SlotIndexedPolicyDatabase)?.checkInvariants()
    #expect(database.count == reference.count)
    let expected = keys.map { reference.lookup($0) }
    var wrong = keys.indices.filter { database.lookup(keys[$0]) != expected[$0] }
    #expect(wrong.isEmpty, "\(label): \(wrong.count) single lookups differ, first at header \(wrong.first ?? -1)")
    var batched = [PolicyLookupResult](repeating: .noMatch(.allow), count: keys.count)
    keys.withUnsafeBufferPointer { k in batched.withUnsafeMutableBufferPointer { database.lookup(k, into: $0) } }
    wrong = keys.indices.filter { batched[$0] != expected[$0] }
    #expect(wrong.isEmpty, "\(label): \(wrong.count) batch lookups differ, first at header \(wrong.first ?? -1)")
  }

  /// The structures that keep their policies in a `PolicyRegistry` (a `cache+` structure
  /// wraps one of these and has no registry of its own).
  static let slotIndexed = StructureCatalog.policyDatabaseNames.filter { !$0.hasPrefix("cache+") }

  /// Sequence renumbering (once per 2³² changes) keeps every answer: start near the limit,
  /// so that it happens among the inserts — or, starting a little lower, among updates that
  /// replace policies in place.
  @Test(arguments: slotIndexed, [false, true])
  func renumberingKeepsTheOrder(name: String, duringUpdates: Bool) throws {
    let policies = try ClassBenchFormat.readRules(path: "\(shippedData)/fw1_1k.rules").policies()
    let keys = try ClassBenchFormat.readTrace(path: "\(shippedData)/fw1_1k.trace").map { $0.flowKey() }
    var reference = try LinearPolicyTable(inserting: policies)
    var updates: [Policy] = []
    if duringUpdates {
      var random = SeededGenerator(seed: 7)
      for var policy in reference.policies.shuffled(using: &random).prefix(100) {
        policy.priority = UInt32.random(in: 0..<UInt32(policies.count), using: &random)
        try reference.update(policy)
        updates.append(policy)
      }
    }
    let check = RenumberingCheck(policies: policies, updates: updates, keys: keys,
                                 expected: keys.map { reference.lookup($0) })
    try StructureCatalog.visitPolicyDatabase(named: name, check)
  }

  struct RenumberingCheck: PolicyDatabaseVisitor {
    let policies: [Policy]
    let updates: [Policy]
    let keys: [FlowKey]
    let expected: [PolicyLookupResult]

    func visit<D: PolicyDatabase>(_ make: () -> D) throws {
      guard var database = make() as? any SlotIndexedPolicyDatabase else {
        Issue.record("\(D.self) keeps no registry: it does not belong in this test")
        return
      }
      try check(&database)
    }

    func check<D: SlotIndexedPolicyDatabase>(_ database: inout D) throws {
      // Sequences run out 300 changes in: among the inserts, or (with updates) 50 updates in.
      let first = UInt32.max - UInt32(updates.isEmpty ? 300 : policies.count + 50)
      database._registry = PolicyRegistry(firstSequence: first)
      database._rebuildIndex()
      for policy in policies { try database.insert(policy) }
      #expect(database._registry.renumberings == (updates.isEmpty ? 1 : 0))
      for policy in updates { #expect(try database.update(policy) == policy.index) }
      #expect(database._registry.renumberings == 1)
      database.checkInvariants()
      #expect(keys.map { database.lookup($0) } == expected)
    }
  }
}
