import ArgumentParser
import Foundation
import Lookup

/// `lookupbench bench`: build time, update rates, lookup cost and memory per SPD structure.
struct Bench: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Measure SPD structures on a ClassBench rule set and trace (release builds only).",
    discussion: """
      Per structure: build time from scratch, insert and delete rates (removing and re-inserting \
      a random 10 % of the set, a new 10 % in each of --passes rounds; the rate over all rounds, so \
      that amortised upkeep such as a re-layout is included), ns per lookup (median over passes of the trace in order, single \
      lookups and bursts of 64), and memory. With --json, one JSON object per structure per line \
      with the keys structure, rules, lookups, build_ms, insert_per_s, delete_per_s, \
      ns_per_lookup, ns_per_lookup_batch, bytes, bytes_per_rule, passes (a stable contract), \
      plus descriptive keys (rule_set, trace, machine, build, batch_size).
      """)

  @OptionGroup var input: ClassBenchInput

  @OptionGroup(title: "Structure options")
  var structureOptions: StructureOptionsArguments

  @Option(help: "Comma-separated structure names (default: every SPD structure).")
  var structures: String?

  @Option(help: "Timed passes over the trace (median reported; at least 5 recommended).")
  var passes: Int = 5

  @Option(help: "Skip structures whose single lookups would exceed this many seconds per pass (e.g. linear at 100k).")
  var maxPassSeconds: Double = 20

  @Option(help: ArgumentHelp(
    "How to replay the trace: file (in order), each:N (every key N times in a row), bursts:N (every burst of 64 keys N times), shuffled-bursts:N (every burst N times, reshuffled each time).",
    discussion: "Repeats take a lookup's cost apart: each:N leaves instructions, shuffled-bursts:N adds mispredicted branches, file order adds memory."))
  var replay: TraceReplay = .file

  @Flag(help: "Print one JSON object per structure per line instead of a table.")
  var json = false

  @Flag(help: "Also print each structure's own counters (tuples, nodes, list lengths, bytes).")
  var statistics = false

  func validate() throws {
    guard passes >= 1 else { throw ValidationError("--passes must be at least 1") }
    guard maxPassSeconds > 0 else { throw ValidationError("--max-pass-seconds must be above 0") }
  }

  func run() throws {
    try reportingErrors {
      let workload = try input.workload().replaying(replay)
      let names = try structureNames(structures, default: StructureCatalog.policyDatabaseNames)
      let options = try structureOptions.options()
      for name in names { _ = try StructureCatalog.makePolicyDatabase(named: name, options: options) }
      if !json {
        print("lookupbench bench — \(machineDescription())")
        print("rules \(input.rules) (\(workload.policies.count)), trace \(input.trace) (\(workload.keys.count) lookups, \(replay.prose)); "
              + "median of \(passes) passes; batches of \(BenchFigures.batchSize)\n")
      }
      var rows: [[String]] = []
      for name in names {
        let visitor = BenchVisitor(name: name, workload: workload, passes: passes, maxPassSeconds: maxPassSeconds)
        guard let figures = try StructureCatalog.visitPolicyDatabase(named: name, options: options, visitor) else {
          if !json { print("\(name): skipped (a pass would exceed \(maxPassSeconds) s)") }
          continue
        }
        if statistics && !json {
          print("\(name): " + figures.statistics.map { "\($0.name) \($0.value)" }.joined(separator: ", "))
        }
        if !json { print("\(name): \(figures.probe.description)") }
        if json {
          print(figures.json(ruleSet: input.rules, trace: input.trace, replay: replay))
        } else {
          rows.append(figures.row)
        }
      }
      if !json {
        print(table(header: ["structure", "rules", "build ms", "inserts/s", "deletes/s", "ns/lookup", "ns/lookup (64)",
                             "bytes", "B/rule"], rows: rows))
      }
    }
  }
}

/// The figures of one structure on one workload.
struct BenchFigures {
  static let batchSize = 64
  var structure: String
  var rules: Int
  var lookups: Int
  var buildMilliseconds: Double
  var insertsPerSecond: Double
  var deletesPerSecond: Double
  var nanosecondsPerLookup: Double
  var nanosecondsPerBatchedLookup: Double
  var bytes: Int
  var passes: Int
  var statistics: LookupStatistics
  /// The host probe taken just before this structure was measured.
  var probe: MachineProbe

  var bytesPerRule: Double { Double(bytes) / Double(max(rules, 1)) }

  var row: [String] {
    [structure, "\(rules)", String(format: "%.2f", buildMilliseconds), String(format: "%.0f", insertsPerSecond),
     String(format: "%.0f", deletesPerSecond), String(format: "%.1f", nanosecondsPerLookup),
     String(format: "%.1f", nanosecondsPerBatchedLookup), "\(bytes)", String(format: "%.1f", bytesPerRule)]
  }

  func json(ruleSet: String, trace: String, replay: TraceReplay = .file) -> String {
    func quoted(_ s: String) -> String {
      "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
    let fields: [(String, String)] = [
      ("structure", quoted(structure)), ("rules", "\(rules)"), ("lookups", "\(lookups)"),
      ("build_ms", String(format: "%.3f", buildMilliseconds)), ("insert_per_s", String(format: "%.0f", insertsPerSecond)),
      ("delete_per_s", String(format: "%.0f", deletesPerSecond)),
      ("ns_per_lookup", String(format: "%.2f", nanosecondsPerLookup)),
      ("ns_per_lookup_batch", String(format: "%.2f", nanosecondsPerBatchedLookup)),
      ("bytes", "\(bytes)"), ("bytes_per_rule", String(format: "%.1f", bytesPerRule)), ("passes", "\(passes)"),
      ("batch_size", "\(Self.batchSize)"), ("rule_set", quoted(ruleSet)), ("trace", quoted(trace)),
      ("trace_replay", quoted(replay.description)),
      ("machine", quoted(machineDescription())), ("build", quoted(isOptimizedBuild ? "release" : "debug")),
    ] + probe.jsonFields
    return "{" + fields.map { "\(quoted($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
  }
}

/// Runs `measure` specialised for each structure type.
struct BenchVisitor: PolicyDatabaseVisitor {
  let name: String
  let workload: ClassBenchWorkload
  let passes: Int
  let maxPassSeconds: Double

  func visit<D: PolicyDatabase>(_ make: () -> D) throws -> BenchFigures? {
    try measure(make, name: name, workload: workload, passes: passes, maxPassSeconds: maxPassSeconds)
  }
}

/// Measures one structure (called with a concrete type, so every loop is specialised).
func measure<D: PolicyDatabase>(_ make: () -> D, name: String, workload: ClassBenchWorkload, passes: Int,
                                maxPassSeconds: Double) throws -> BenchFigures? {
  let policies = workload.policies
  let hostProbe = MachineProbe.measure()
  // Build from scratch: median of 3 builds.
  var builds: [Double] = []
  var database = make()
  for _ in 0..<3 {
    var fresh = make()  // a new instance each time (a cache is a class)
    let start = monotonicNanoseconds()
    for policy in policies { try fresh.insert(policy) }
    builds.append(Double(monotonicNanoseconds() - start) / 1e6)
    database = fresh
  }
  // Guard against structures too slow for this set (one probe pass over 1 % of the trace).
  let probe = Array(workload.keys.prefix(max(1, workload.keys.count / 100)))
  let probeNanoseconds = median(measureSingleLookups(database, keys: probe, passes: 1))
  if probeNanoseconds * Double(workload.keys.count) / 1e9 > maxPassSeconds { return nil }
  // Updates: per pass, remove a random 10 % (fixed seed, a new draw each pass), then
  // re-insert them; the rate over all rounds (one round is a few milliseconds, too short to
  // trust alone on a shared machine, and the total includes amortised upkeep such as a
  // structure's occasional re-layout).
  var generator = SplitMix64(seed: 42)
  var removed = 0, removeSeconds = 0.0, insertSeconds = 0.0
  var firstVictims: [Policy] = []
  for round in 0..<max(1, passes) {
    let victims = Array(policies.shuffled(using: &generator).prefix(max(1, policies.count / 10)))
    if round == 0 { firstVictims = victims }
    let removeStart = monotonicNanoseconds()
    for policy in victims { try database.remove(policy.index) }
    removeSeconds += Double(monotonicNanoseconds() - removeStart) / 1e9
    let insertStart = monotonicNanoseconds()
    for policy in victims { try database.insert(policy) }
    insertSeconds += Double(monotonicNanoseconds() - insertStart) / 1e9
    removed += victims.count
  }
  // Lookups on a fresh build with the first round's 10 % removed and re-inserted: after all
  // rounds about half the policies would sit in recycled slots, and the lookup figures would
  // depend on --passes.
  database = make()
  for policy in policies { try database.insert(policy) }
  for policy in firstVictims { try database.remove(policy.index) }
  for policy in firstVictims { try database.insert(policy) }
  let single = median(measureSingleLookups(database, keys: workload.keys, passes: passes))
  let batched = median(measureBatchedLookups(database, keys: workload.keys, batchSize: BenchFigures.batchSize,
                                             passes: passes))
  return BenchFigures(structure: name, rules: policies.count, lookups: workload.keys.count,
                      buildMilliseconds: median(builds), insertsPerSecond: Double(removed) / insertSeconds,
                      deletesPerSecond: Double(removed) / removeSeconds, nanosecondsPerLookup: single,
                      nanosecondsPerBatchedLookup: batched, bytes: database.memoryFootprint, passes: passes,
                      statistics: database.statistics, probe: hostProbe)
}
