import Lookup

/// A ClassBench rule set and trace as the runner uses them: policies in line order and one
/// flow key per trace header.
struct ClassBenchWorkload {
  let rulesPath: String
  let tracePath: String
  let rules: ClassBenchRuleSet
  let headers: [ClassBenchHeader]
  let policies: [Policy]
  let keys: [FlowKey]

  init(rules rulesPath: String, trace tracePath: String) throws {
    self.rulesPath = rulesPath
    self.tracePath = tracePath
    rules = try ClassBenchFormat.readRules(path: rulesPath)
    headers = try ClassBenchFormat.readTrace(path: tracePath)
    policies = try rules.policies(direction: .out)
    keys = headers.map { $0.flowKey(direction: .out) }
  }

  /// The same rules with the trace's keys replayed as `replay` says.
  func replaying(_ replay: TraceReplay) -> ClassBenchWorkload {
    ClassBenchWorkload(self, keys: replay.apply(keys))
  }

  private init(_ other: ClassBenchWorkload, keys: [FlowKey]) {
    rulesPath = other.rulesPath
    tracePath = other.tracePath
    rules = other.rules
    headers = other.headers
    policies = other.policies
    self.keys = keys
  }

  /// A database of the named structure holding every rule.
  func build(_ name: String, options: StructureOptions = StructureOptions()) throws -> any PolicyDatabase {
    var database = try StructureCatalog.makePolicyDatabase(named: name, options: options)
    try database.insertAll(policies)
    return database
  }
}

extension PolicyDatabase {
  /// Inserts policies in order (opened generically, so no existential per insert).
  mutating func insertAll(_ policies: [Policy]) throws {
    for policy in policies { try insert(policy) }
  }

  /// The answer for every key, as ClassBench rule numbers (-1 = no match).
  func classify(_ keys: [FlowKey]) -> [Int] {
    keys.map { ClassBenchRuleSet.ruleNumber(policyIndex: lookup($0).index) }
  }

  /// The same through the batch lookup (bursts of 64).
  func classifyBatched(_ keys: [FlowKey]) -> [Int] {
    var results = [PolicyLookupResult](repeating: .noMatch(.allow), count: keys.count)
    keys.withUnsafeBufferPointer { keys in results.withUnsafeMutableBufferPointer { lookup(keys, into: $0) } }
    return results.map { ClassBenchRuleSet.ruleNumber(policyIndex: $0.index) }
  }
}
