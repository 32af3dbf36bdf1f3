import ArgumentParser
import Foundation
import Lookup

/// `lookupbench hitrate`: flow cache hit rates across sizes, replacement and invalidation
/// modes, policy churn and RSS spreading over per-thread caches.
struct HitRate: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "hitrate",
    abstract: "Sweep flow cache designs on a trace and report hit rates, stale hits, evictions and ns/lookup.",
    discussion: """
      For every combination of --sizes × --replacements × --invalidations × --churn × --threads \
      the trace is replayed through cache+STRUCTURE. --threads N > 1 spreads flows over N \
      per-thread caches of the given size by a hash of the 5-tuple (RSS), as the old per-CPU \
      cache did; --threads 1 is one shared cache. Churn is policy changes per million lookups \
      (a random 10 % of the rules is taken out first and moved in and out). The replay runs on \
      one thread: hit rates do not depend on real concurrency; ns/lookup is the cost on this \
      machine of that replay. The cost of a hit (single and in bursts of 64, on the flows \
      the first cache holds) and of a miss (distinct flows through an emptied cache, beside \
      the base alone on the same flows) are measured directly: hits as medians of 7 passes, \
      misses as medians of 31 passes alternating with the base's, and the miss overhead as \
      the median of the per-pass differences — for single lookups and for bursts of 64 (the \
      cache's batch lookup against the base's). \
      Synthetic traces: --zipf S --flows N draws N distinct headers from the trace and replays \
      --lookups of them with Zipf(S) popularity. Output: a Markdown table, and one JSON object \
      per combination per line with --json FILE.
      """)

  @OptionGroup var input: ClassBenchInput

  @Option(help: "The structure beneath the cache.")
  var structure: String = "tuplespace"

  @Option(help: "Cache sizes in entries (powers of two), comma-separated.")
  var sizes: String = "256,4096,65536"

  @Option(help: "Replacement modes: direct, lru, clock, idle.")
  var replacements: String = "direct,lru,clock,idle"

  @Option(help: "Invalidation modes: generation, targeted.")
  var invalidations: String = "generation,targeted"

  @Option(help: "Policy changes per million lookups, comma-separated.")
  var churn: String = "0,10,100,1000"

  @Option(help: "Per-thread caches with RSS spreading (1 = one shared cache), comma-separated.")
  var threads: String = "1,4"

  @Option(help: "Ways per set (direct mapping uses 1).")
  var ways: Int = 4

  @Option(help: "Idle timeout for the idle mode, in lookups of logical time.")
  var idleTimeout: UInt32 = 10_000

  @Option(help: "Zipf exponent of a synthetic trace (omit to replay the trace as it is).")
  var zipf: Double?

  @Option(help: "Distinct flows of the synthetic trace.")
  var flows: Int = 10_000

  @Option(help: "Lookups of the synthetic trace.")
  var lookups: Int = 1_000_000

  @Option(help: "Write one JSON object per combination per line to this file.")
  var json: String?

  func formatted(_ value: Double) -> String { value.isNaN ? "n/a" : String(format: "%.1f", value) }

  func validate() throws {
    guard flows >= 1, lookups >= 1 else { throw ValidationError("--flows and --lookups must be at least 1") }
    if let zipf, !(zipf >= 0 && zipf.isFinite) { throw ValidationError("--zipf must be a finite exponent >= 0") }
  }

  func run() throws {
    try reportingErrors {
      let workload = try input.workload()
      let keys = zipf.map { syntheticTrace(from: workload.keys, flows: flows, lookups: lookups, exponent: $0) }
        ?? workload.keys
      let traceLabel = zipf.map { "zipf(s=\($0), \(flows) flows, \(lookups) lookups) from \(input.trace)" } ?? input.trace
      let sizeList = try parseList(sizes, "--sizes", "a number") { Int($0) }
      let replacementList = try parseList(replacements, "--replacements", "direct, lru, clock or idle") {
        CacheReplacement(rawValue: $0)
      }
      let invalidationList = try parseList(invalidations, "--invalidations", "generation or targeted") {
        CacheInvalidation(rawValue: $0)
      }
      let churnList = try parseList(churn, "--churn", "a count >= 0") { Int($0).flatMap { $0 >= 0 ? $0 : nil } }
      let threadList = try parseList(threads, "--threads", "a count >= 1") { Int($0).flatMap { $0 >= 1 ? $0 : nil } }
      print("lookupbench hitrate — \(machineDescription())")
      print(MachineProbe.measure().description + " (each JSON line has the probe taken before its row)")
      print("rules \(input.rules) (\(workload.policies.count)), trace \(traceLabel) (\(keys.count) lookups, "
            + "\(Set(keys).count) distinct flows), structure \(structure), \(ways)-way sets\n")
      var rows: [[String]] = []
      var lines: [String] = []
      for size in sizeList {
        for replacement in replacementList {
          for invalidation in invalidationList {
            let configuration = try FlowCacheConfiguration(
              capacity: size, associativity: ways, replacement: replacement, invalidation: invalidation,
              idleTimeout: idleTimeout)
            for changes in churnList {
              for threadCount in threadList {
                let probe = MachineProbe.measure()
                let visitor = HitRateVisitor(policies: workload.policies, keys: keys, configuration: configuration,
                                             churnPerMillion: changes, threads: threadCount)
                let result = try StructureCatalog.visitPolicyDatabase(named: structure, visitor)
                rows.append([String(size), replacement.rawValue, invalidation.rawValue, String(changes),
                             String(threadCount), String(format: "%.1f", result.counters.hitRate * 100),
                             String(result.counters.staleHits), String(result.counters.evictions),
                             String(result.counters.invalidations), String(format: "%.1f", result.nanosecondsPerLookup),
                             formatted(result.costs.hit), formatted(result.costs.hitBatch),
                             formatted(result.costs.miss), formatted(result.costs.base),
                             formatted(result.costs.missOverhead), formatted(result.costs.missOverheadBatch)])
                lines.append(result.json(size: size, configuration: configuration, churn: changes, threads: threadCount,
                                         structure: structure, rules: input.rules, trace: traceLabel, probe: probe))
              }
            }
          }
        }
      }
      print(markdownTable(header: ["entries", "replacement", "invalidation", "churn/M", "threads", "hit %", "stale hits",
                                   "evictions", "invalidations", "ns/lookup", "ns (hit)", "ns (hit, batch 64)",
                                   "ns (miss)", "ns (base alone)", "miss − base", "miss − base (batch 64)"], rows: rows))
      if let json {
        _ = FileManager.default.createFile(atPath: json, contents: Data((lines.joined(separator: "\n") + "\n").utf8))
        print("\nJSON: \(json)")
      }
    }
  }
}

/// What a hit and a miss cost, measured directly (see `measureHitAndMiss`).
struct CacheCosts {
  /// Flows the hit figures were measured on.
  var heldFlows: Int
  var hit = Double.nan
  var hitBatch = Double.nan
  var miss = Double.nan
  /// The base alone on the miss figures' keys.
  var base = Double.nan
  /// What a miss adds to the base's lookup: the median of the per-pass differences (each
  /// cache pass beside the base pass that follows it), steadier on a noisy machine than
  /// the difference of the two medians.
  var missOverhead = Double.nan
  /// The same three in bursts of 64 (the cache's batch lookup against the base's).
  var missBatch = Double.nan
  var baseBatch = Double.nan
  var missOverheadBatch = Double.nan
}

/// What one replay measured.
struct HitRateResult {
  var counters: FlowCacheCounters
  var nanosecondsPerLookup: Double
  var costs: CacheCosts
  var lookups: Int

  func json(size: Int, configuration: FlowCacheConfiguration, churn: Int, threads: Int, structure: String,
            rules: String, trace: String, probe: MachineProbe) -> String {
    func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\\\"") + "\"" }
    func number(_ value: Double) -> String { value.isFinite ? String(format: "%.2f", value) : "null" }
    let fields: [(String, String)] = [
      ("structure", quoted(structure)), ("entries", "\(size)"), ("ways", "\(configuration.associativity)"),
      ("replacement", quoted(configuration.replacement.rawValue)),
      ("invalidation", quoted(configuration.invalidation.rawValue)), ("churn_per_million", "\(churn)"),
      ("threads", "\(threads)"), ("lookups", "\(lookups)"), ("hits", "\(counters.hits)"), ("misses", "\(counters.misses)"),
      ("hit_rate", String(format: "%.5f", counters.hitRate)), ("stale_hits", "\(counters.staleHits)"),
      ("evictions", "\(counters.evictions)"), ("expirations", "\(counters.expirations)"),
      ("invalidations", "\(counters.invalidations)"), ("rejected", "\(counters.rejected)"),
      ("ways_examined", "\(counters.waysExamined)"),
      ("ns_per_lookup", number(nanosecondsPerLookup)), ("ns_hit", number(costs.hit)),
      ("ns_hit_batch", number(costs.hitBatch)), ("held_flows", "\(costs.heldFlows)"),
      ("ns_miss", number(costs.miss)), ("ns_base", number(costs.base)), ("ns_miss_overhead", number(costs.missOverhead)),
      ("ns_miss_batch", number(costs.missBatch)), ("ns_base_batch", number(costs.baseBatch)),
      ("ns_miss_overhead_batch", number(costs.missOverheadBatch)), ("rule_set", quoted(rules)), ("trace", quoted(trace)),
      ("machine", quoted(machineDescription())),
    ] + probe.jsonFields
    return "{" + fields.map { "\(quoted($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
  }
}

/// Replays a trace through per-thread caches over one structure type (specialised).
struct HitRateVisitor: PolicyDatabaseVisitor {
  let policies: [Policy]
  let keys: [FlowKey]
  let configuration: FlowCacheConfiguration
  let churnPerMillion: Int
  let threads: Int

  func visit<D: PolicyDatabase>(_ make: () -> D) throws -> HitRateResult {
    // A random 10 % of the rules is the churn pool: out at the start, then moved in and out.
    var generator = SplitMix64(seed: 7)
    let pool = Array(policies.shuffled(using: &generator).prefix(max(1, policies.count / 10)))
    let poolIndexes = Set(pool.map(\.index))
    var base = make()
    for policy in policies where !poolIndexes.contains(policy.index) { try base.insert(policy) }
    return try replayCached(base, pool: pool)
  }

  func replayCached<B: TargetedInvalidation>(_ base: B, pool: [Policy]) throws -> HitRateResult
  where B.Key == FlowKey, B.Result == PolicyLookupResult, B.Entry == Policy, B.EntryID == UInt32 {
    let caches = (0..<threads).map { _ in FlowCache(base: base, configuration: configuration) }
    let interval = churnPerMillion == 0 ? Int.max : max(1, 1_000_000 / churnPerMillion)
    var outside = pool, inside: [Policy] = []
    var generator = SplitMix64(seed: 11)
    let rssSeed = SeededHash.randomSeed()
    var checksum: UInt32 = 0
    let start = monotonicNanoseconds()
    for (i, key) in keys.enumerated() {
      if i % interval == interval - 1 {
        // Alternate: bring a pool policy in, or take one out (applied to every thread's cache).
        if (i / interval) % 2 == 0, let policy = outside.popLast() {
          for cache in caches { try cache.insert(policy) }
          inside.append(policy)
        } else if !inside.isEmpty {
          let policy = inside.remove(at: Int.random(in: 0..<inside.count, using: &generator))
          for cache in caches { try cache.remove(policy.index) }
          outside.append(policy)
        }
      }
      if i & 1023 == 0 { for cache in caches { cache.advanceClock(to: UInt32(truncatingIfNeeded: i)) } }
      let thread = threads == 1 ? 0 : Int(truncatingIfNeeded: rssHash(key, seed: rssSeed) % UInt64(threads))
      // `caches` keeps every cache alive: no retain and release around each lookup.
      checksum &+= Unmanaged.passUnretained(caches[thread])._withUnsafeGuaranteedRef { $0.lookup(key) }.index
    }
    let elapsed = Double(monotonicNanoseconds() - start)
    measurementSink &+= checksum
    let counters = caches.reduce(FlowCacheCounters()) { $0 + $1.counters }
    let costs = measureHitAndMiss(base, caches[0], keys)
    return HitRateResult(counters: counters, nanosecondsPerLookup: elapsed / Double(max(keys.count, 1)),
                         costs: costs, lookups: keys.count)
  }

  /// The cost of a hit and of a miss, measured directly (medians of 7 passes for hits, of
  /// `missPasses` for misses), not apportioned from the replay:
  /// - hit: the keys `warm` holds (at most half its capacity, each checked with `holds` once
  ///   all are in), in a shuffled order, single lookups and bursts of 64; hits change nothing
  ///   that could evict another held key;
  /// - miss: up to 4,096 distinct keys through a cache emptied before each pass (every lookup
  ///   misses: the base's lookup plus the insert), against the base alone on the same keys,
  ///   passes alternating; the overhead is the median of the per-pass differences.
  static let missPasses = 31

  func measureHitAndMiss<B: TargetedInvalidation>(_ base: B, _ warm: FlowCache<B>, _ keys: [FlowKey]) -> CacheCosts
  where B.Key == FlowKey, B.Result == PolicyLookupResult {
    var generator = SplitMix64(seed: 3)
    var held: [FlowKey] = []
    // Bring the keys in (refreshing stale answers in generation mode), then keep those the
    // cache still holds once all are in: a key checked right after its own insert may have
    // been evicted by a later one, and would be timed as a miss.
    let candidates = Array(Set(keys.suffix(65_536)).prefix(warm.configuration.capacity / 2))
    for key in candidates { _ = warm.lookup(key) }
    for key in candidates where warm.holds(key) { held.append(key) }
    held.shuffle(using: &generator)
    var costs = CacheCosts(heldFlows: held.count)
    if !held.isEmpty {
      costs.hit = median(measureSingleLookups(warm, keys: held, passes: 7))
      costs.hitBatch = median(measureBatchedLookups(warm, keys: held, batchSize: 64, passes: 7))
    }
    let fresh = Array(Set(keys).prefix(4_096)).shuffled(using: &generator)
    let scratch = FlowCache(base: base, configuration: warm.configuration)
    var missFigures: [Double] = [], baseFigures: [Double] = []
    var missBatchFigures: [Double] = [], baseBatchFigures: [Double] = []
    for _ in 0..<Self.missPasses {
      // Alternating, each after the same sweep of the cache's memory, so that both see the
      // base's data equally warm.
      scratch.invalidateAll()
      missFigures.append(timeOnePass(scratch, fresh))
      scratch.invalidateAll()
      baseFigures.append(timeOnePass(base, fresh))
      scratch.invalidateAll()
      missBatchFigures.append(measureBatchedLookups(scratch, keys: fresh, batchSize: 64, passes: 1)[0])
      scratch.invalidateAll()
      baseBatchFigures.append(measureBatchedLookups(base, keys: fresh, batchSize: 64, passes: 1)[0])
    }
    costs.miss = median(missFigures)
    costs.base = median(baseFigures)
    costs.missOverhead = median(zip(missFigures, baseFigures).map { $0 - $1 })
    costs.missBatch = median(missBatchFigures)
    costs.baseBatch = median(baseBatchFigures)
    costs.missOverheadBatch = median(zip(missBatchFigures, baseBatchFigures).map { $0 - $1 })
    return costs
  }

  /// The RSS hash: the 5-tuple only, as a NIC spreads flows over queues.
  func rssHash(_ key: FlowKey, seed: UInt64) -> UInt64 {
    SeededHash.mix(SeededHash.mix(seed, key.source ^ key.destination),
                   UInt64(key.sourcePort) | UInt64(key.destinationPort) << 16 | UInt64(key.proto) << 32)
  }
}

/// `flows` distinct headers of a trace replayed `lookups` times with Zipf(`exponent`)
/// popularity (rank k drawn with probability ∝ 1/k^s), deterministic.
func syntheticTrace(from keys: [FlowKey], flows: Int, lookups: Int, exponent: Double) -> [FlowKey] {
  var seen = Set<FlowKey>()
  var distinct: [FlowKey] = []
  for key in keys where seen.insert(key).inserted {
    distinct.append(key)
    if distinct.count == flows { break }
  }
  // Cumulative weights, then inverse-CDF sampling.
  var cumulative: [Double] = []
  cumulative.reserveCapacity(distinct.count)
  var total = 0.0
  for rank in 1...max(1, distinct.count) {
    total += 1 / pow(Double(rank), exponent)
    cumulative.append(total)
  }
  var generator = SplitMix64(seed: 1234)
  return (0..<lookups).map { _ in
    let target = Double.random(in: 0..<total, using: &generator)
    var low = 0, high = cumulative.count - 1
    while low < high {
      let mid = (low + high) / 2
      if cumulative[mid] <= target { low = mid + 1 } else { high = mid }
    }
    return distinct[low]
  }
}

/// A comma-separated option value, each item converted by `convert` (nil = invalid).
func parseList<T>(_ text: String, _ flag: String, _ expected: String, _ convert: (String) -> T?) throws -> [T] {
  try text.split(separator: ",").map { item in
    let trimmed = item.trimmingCharacters(in: .whitespaces)
    guard let value = convert(trimmed) else { throw ValidationError("\(flag): '\(trimmed)' is not \(expected)") }
    return value
  }
}

/// The structures a comma-separated `--structures` value names (nil: `defaultNames`). A
/// value naming none (`''`, `','`) is refused: a run over no structure would report success
/// having checked nothing.
func structureNames(_ text: String?, default defaultNames: [String]) throws -> [String] {
  guard let text else { return defaultNames }
  let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
  guard !names.isEmpty else { throw ValidationError("--structures names no structure") }
  return names
}

/// A Markdown table.
func markdownTable(header: [String], rows: [[String]]) -> String {
  (["| " + header.joined(separator: " | ") + " |", "|" + String(repeating: " --- |", count: header.count)]
    + rows.map { "| " + $0.joined(separator: " | ") + " |" }).joined(separator: "\n")
}
