import ArgumentParser
import Foundation
import Lookup

/// `lookupbench pfp`: how PFP caps spread flows over SAs (RSS/ECMP entropy).
struct PFPExperiment: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "pfp",
    abstract: "N flows through one PFP policy with cap C: SAs, SPIs and how evenly flows spread over them.",
    discussion: """
      One outbound policy (10.0.0.0/8 → any) with the given PFP flags in a PFPTable over \
      tuplespace, for each --overflow rule (what flows get once the cap is reached: the \
      policy's wildcard SA, or one of the capped SAs by hash). Random flows (TCP/UDP 4-tuples, DSCP from 0, 10, 18, 26, 34, 46) are \
      resolved once; a simulated key manager drains every ACQUIRE, allocates an SPI at the \
      peer (NamespacedSAD's allocator), adds the SA and binds it. Then every flow is looked up \
      again (timed) and counted per SA. Reported per cap: SAs, distinct SPIs, the largest share \
      of flows on one SA, the Shannon entropy of the flow distribution over SAs (bits; \
      log2 of the SA count is the best possible), and the largest share of flows on one of \
      --rss-queues receive queues when the receiver's NIC spreads ESP by a hash of the SPI \
      (ideal 100/queues %). Counters: ACQUIREs sent and capped. --json FILE: one object per cap.
      """)

  @Option(help: "Distinct flows.")
  var flows: Int = 100_000

  @Option(help: "Caps per policy, comma-separated ('unlimited' for none).")
  var caps: String = "1,8,64,unlimited"

  @Option(help: "What overflow flows get past the cap: wildcard (the Linux proposal), spread (hashed over the capped SAs), comma-separated.")
  var overflow: String = "wildcard,spread"

  @Option(help: "PFP flags, comma-separated: local-addr, remote-addr, proto, local-port, remote-port, dscp (or 'four-tuple').")
  var flags: String = "four-tuple"

  @Option(help: "Receive queues of the RSS figure.")
  var rssQueues: Int = 8

  @Option(help: "Random seed.")
  var seed: UInt64 = 1

  @Option(help: "Write one JSON object per cap per line to this file.")
  var json: String?

  func validate() throws {
    guard flows >= 1, rssQueues >= 1 else { throw ValidationError("--flows and --rss-queues must be at least 1") }
  }

  func run() throws {
    try reportingErrors {
      guard flows >= 1, rssQueues >= 1 else { throw ValidationError("--flows and --rss-queues must be at least 1") }
      let capList = try parseList(caps, "--caps", "a count >= 1 or 'unlimited'") { text -> Int?? in
        text == "unlimited" ? .some(nil) : Int(text).flatMap { $0 >= 1 ? .some($0) : nil }
      }
      let overflowList = try parseList(overflow, "--overflow", "wildcard or spread") { PFPOverflow(rawValue: $0) }
      var pfpFlags: PFPFlags = []
      for name in try parseList(flags, "--flags", "a PFP flag name", { $0 }) {
        if name == "four-tuple" { pfpFlags.formUnion(.fourTuple) } else if let flag = PFPFlags(name: name) {
          pfpFlags.insert(flag)
        } else { throw ValidationError("--flags: '\(name)' is not one of \(PFPFlags.names.joined(separator: ", ")), four-tuple") }
      }
      let flowKeys = Self.randomFlows(count: flows, seed: seed)
      print("lookupbench pfp — \(machineDescription())")
      print("\(flows) flows, flags \(pfpFlags.nameList.joined(separator: ",")), RSS over \(rssQueues) queues by SPI, seed \(seed)\n")
      var rows: [[String]] = []
      var lines: [String] = []
      for mode in overflowList {
        for cap in capList {
          if cap == nil && mode != overflowList.first { continue }  // no cap: the overflow rule never applies
          let r = try Self.run(cap: cap, overflow: mode, flags: pfpFlags, flows: flowKeys, rssQueues: rssQueues)
          let capText = cap.map(String.init) ?? "unlimited"
          rows.append([capText, cap == nil ? "–" : mode.rawValue, "\(r.securityAssociations)", "\(r.distinctSPIs)",
                       String(format: "%.2f", r.largestShare * 100), String(format: "%.2f", r.entropyBits),
                       String(format: "%.2f", r.largestQueueShare * 100), "\(r.acquiresSent)", "\(r.acquiresCapped)",
                       String(format: "%.1f", r.nanosecondsPerLookup)])
          lines.append(JSONLine.object([
            ("cap", cap.map(String.init) ?? "null"), ("overflow", JSONLine.string(mode.rawValue)), ("flows", "\(flows)"),
            ("flags", JSONLine.string(pfpFlags.nameList.joined(separator: ","))), ("sas", "\(r.securityAssociations)"),
            ("distinct_spis", "\(r.distinctSPIs)"), ("largest_sa_share", JSONLine.number(r.largestShare, decimals: 5)),
            ("entropy_bits", JSONLine.number(r.entropyBits, decimals: 3)), ("rss_queues", "\(rssQueues)"),
            ("largest_queue_share", JSONLine.number(r.largestQueueShare, decimals: 5)),
            ("acquires_sent", "\(r.acquiresSent)"), ("acquires_capped", "\(r.acquiresCapped)"),
            ("ns_per_lookup", JSONLine.number(r.nanosecondsPerLookup)), ("seed", "\(seed)"),
            ("machine", JSONLine.string(machineDescription())), ("build", JSONLine.string(isOptimizedBuild ? "release" : "debug")),
          ]))
        }
      }
      print(markdownTable(header: ["cap", "overflow", "SAs", "SPIs", "largest SA share %", "entropy (bits)",
                                   "largest RSS queue % (ideal \(String(format: "%.1f", 100 / Double(rssQueues))))",
                                   "ACQUIREs", "capped", "ns/lookup"], rows: rows))
      if let json {
        try writeLines(lines, to: json)
        print("\nJSON: \(json)")
      }
    }
  }

  static func randomFlows(count: Int, seed: UInt64) -> [FlowKey] {
    var rng = SplitMix64(seed: seed)
    let classes: [UInt8] = [0, 10, 18, 26, 34, 46]
    var seen = Set<FlowKey>()
    var flows: [FlowKey] = []
    while flows.count < count {
      var flow = FlowKey(source: IPAddress(ipv4: 0x0A00_0000 | UInt32.random(in: 0...0xFF_FFFF, using: &rng)),
                         destination: IPAddress(ipv4: 0xAC10_0000 | UInt32.random(in: 0...0xF_FFFF, using: &rng)),
                         sourcePort: UInt16.random(in: 1024...65535, using: &rng),
                         destinationPort: [443, 80, 53, 8080][Int.random(in: 0..<4, using: &rng)],
                         proto: Bool.random(using: &rng) ? 6 : 17, direction: .out)
      flow.dscp = classes[Int.random(in: 0..<classes.count, using: &rng)]
      if seen.insert(flow).inserted { flows.append(flow) }
    }
    return flows
  }

  struct Outcome {
    var securityAssociations: Int
    var distinctSPIs: Int
    var largestShare: Double
    var entropyBits: Double
    var largestQueueShare: Double
    var acquiresSent: Int
    var acquiresCapped: Int
    var nanosecondsPerLookup: Double
  }

  static func run(cap: Int?, overflow: PFPOverflow, flags: PFPFlags, flows: [FlowKey], rssQueues: Int) throws -> Outcome {
    var table = PFPTable<TupleSpaceTable>(configuration: PFPConfiguration(capPerPolicy: cap, overflow: overflow,
                                                                          queueCapacity: 1024, maximumLarval: 1 << 20))
    let policy = Policy(selector: try PolicySelector(source: AddressPrefix(address: IPAddress(ipv4: 0x0A00_0000), length: 8),
                                                     destination: .any(.ipv4)),
                        direction: .out, populateFromPacket: flags)
    try table.insert(policy)
    let peer = IPAddress(ipv4: 0xC000_0201)
    var peerSAD = NamespacedSAD(inboundMode: .kernel, maximumPerNamespace: .max)
    var rng = SplitMix64(seed: 99)
    for flow in flows {
      _ = table.resolve(flow, now: 0)
      while let acquire = table.nextAcquire() {
        let spi = try peerSAD.allocateSPI(namespace: 0, destination: peer, using: &rng)
        let id = try peerSAD.insert(try SecurityAssociation(spi: spi, destination: peer, selector: acquire.selector))
        try table.bind(acquire, to: id)
      }
    }
    let nanoseconds = timeOnePass(table, flows)
    var perSA: [UInt32: Int] = [:]
    for flow in flows { perSA[table.lookup(flow).sa, default: 0] += 1 }
    var spiOf: [UInt32: UInt32] = [:]
    for sa in peerSAD.securityAssociations { spiOf[sa.id] = sa.spi }
    var perQueue = [Int](repeating: 0, count: rssQueues)
    var entropy = 0.0
    for (sa, count) in perSA {
      // The NIC's RSS hash of an ESP packet covers the SPI; a fixed mix stands in for Toeplitz.
      let spi = spiOf[sa] ?? 0
      perQueue[Int(SeededHash.mix(0x7255_5353, UInt64(spi)) % UInt64(rssQueues))] += count
      let p = Double(count) / Double(flows.count)
      entropy -= p * log2(p)
    }
    return Outcome(securityAssociations: perSA.keys.filter { $0 != 0 }.count, distinctSPIs: Set(spiOf.values).count,
                   largestShare: Double(perSA.values.max() ?? 0) / Double(flows.count), entropyBits: entropy,
                   largestQueueShare: Double(perQueue.max() ?? 0) / Double(flows.count),
                   acquiresSent: table.counters.acquiresSent, acquiresCapped: table.counters.acquiresCapped,
                   nanosecondsPerLookup: nanoseconds)
  }
}
