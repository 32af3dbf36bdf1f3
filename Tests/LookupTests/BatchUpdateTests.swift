import Testing
import Lookup

/// All-or-nothing batches: a batch that fails part-way leaves every structure exactly as it
/// was (same answers on a trace, same entries in the same order); a batch that succeeds
/// applies completely.
@Suite("All-or-nothing batch updates")
struct BatchUpdateTests {
  static let set: (policies: [Policy], flows: [FlowKey]) = {
    let rules = try! ClassBenchFormat.readRules(path: "\(shippedData)/acl1_1k.rules")
    let trace = try! ClassBenchFormat.readTrace(path: "\(shippedData)/acl1_1k.trace")
    return (try! rules.policies(), trace.prefix(3000).map { $0.flowKey() })
  }()

  struct Check: PolicyDatabaseVisitor {
    func visit<D: PolicyDatabase>(_ make: () -> D) throws {
      let (policies, flows) = BatchUpdateTests.set
      var database = make()
      for policy in policies { try database.insert(policy) }
      let before = flows.map { database.lookup($0) }
      let entriesBefore = database.policies
      // Remove three policies, add a new one, then re-add an existing selector: the last fails.
      var fresh = Policy(selector: try PolicySelector(source: .any(.ipv4), destination: .any(.ipv4)), priority: 0,
                         direction: .out)
      fresh.mark = MarkSelector(value: 0x77, mask: 0xFF)
      let failing: [StructureChange<Policy, UInt32>] = [
        .remove(policies[0].index), .remove(policies[10].index), .insert(fresh), .remove(policies[20].index),
        .insert(policies[30]),
      ]
      #expect(throws: BatchUpdateError(position: 4, error: .policyExists(existingIndex: policies[30].index))) {
        try database.applyAtomically(failing)
      }
      #expect(flows.map { database.lookup($0) } == before, "a failed batch changed answers")
      #expect(database.policies == entriesBefore, "a failed batch changed the entries or their ages")
      // A missing id fails too, at its position.
      #expect(throws: BatchUpdateError(position: 1, error: .policyNotFound(index: 999_999_999))) {
        try database.applyAtomically([.remove(policies[0].index), .remove(999_999_999)])
      }
      #expect(flows.map { database.lookup($0) } == before)
      // The same batch without its failing change applies completely, as linear applies it.
      var reference = try LinearPolicyTable(inserting: policies)
      let good = Array(failing.dropLast())
      let expected = try reference.applyInOrder(good)
      let result = try database.applyAtomically(good)
      #expect(result.insertedIDs == expected.insertedIDs && result.removedEntries == expected.removedEntries)
      #expect(flows.map { database.lookup($0) } == flows.map { reference.lookup($0) })
      #expect(database.count == policies.count - 2)
    }
  }

  @Test(arguments: StructureCatalog.policyDatabaseNames)
  func policyDatabases(name: String) throws {
    try StructureCatalog.visitPolicyDatabase(named: name, Check())
  }

  @Test(arguments: StructureCatalog.securityAssociationDatabaseNames)
  func securityAssociationDatabases(name: String) throws {
    var sad = try StructureCatalog.makeSecurityAssociationDatabase(named: name)
    var random = RandomSAs(seed: 5)
    var keys: [SALookupKey] = []
    for _ in 0..<300 {
      if let id = try? sad.insert(random.securityAssociation()), let sa = sad.securityAssociation(id: id) {
        keys.append(SALookupKey(destination: sa.destination, source: sa.source, spi: sa.spi, proto: sa.proto,
                                namespace: sa.namespace))
      }
    }
    let before = keys.map { sad.lookup($0) }
    let entries = sad.securityAssociations
    let existing = entries[5]
    let batch: [StructureChange<SecurityAssociation, UInt32>] = [
      .remove(entries[0].id), .insert(try SecurityAssociation(spi: 0xABCD_0001, destination: v4("9.9.9.9"))),
      .insert(existing),
    ]
    #expect(throws: BatchUpdateError.self) { try sad.applyAtomically(batch) }
    #expect(keys.map { sad.lookup($0) } == before)
    #expect(sad.securityAssociations == entries)
    let result = try sad.applyAtomically(Array(batch.dropLast()))
    #expect(result.removedEntries == [entries[0]] && result.insertedIDs.count == 1)
    #expect(sad.count == entries.count)
  }

  @Test func pfpTable() throws {
    var table = PFPTable<TupleSpaceTable>()
    let policies = Self.set.policies.prefix(200).map { policy -> Policy in
      var p = policy
      p.populateFromPacket = .fourTuple
      return p
    }
    for policy in policies { try table.insert(policy) }
    let flows = Array(Self.set.flows.prefix(500))
    let before = flows.map { table.lookup($0) }
    #expect(throws: BatchUpdateError.self) {
      try table.applyAtomically([.remove(policies[0].index), .insert(policies[1])])
    }
    #expect(flows.map { table.lookup($0) } == before)
    #expect(table.count == policies.count)
  }
}
