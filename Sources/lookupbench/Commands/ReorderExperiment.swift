import ArgumentParser
import Foundation
import Lookup

/// `lookupbench reorder`: replay-window drops from DSCP reordering, one SA vs one SA per class.
struct ReorderExperiment: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "reorder",
    abstract: "Drop rate of the receiver's replay window when QoS reorders DSCP classes: one SA vs one SA per class.",
    discussion: """
      A model, not a trace: the sender emits one packet per time unit, each of a uniformly \
      random class 0…K−1; class c waits c × --class-delay time units longer in the network's \
      queues (strict priority: higher classes are faster) plus a uniform jitter of 0…--jitter. \
      Packets arrive in order of arrival time. With one SA every packet carries the next \
      number of one sequence; with one SA per class, each class has its own sequence and \
      window. The receiver runs ReplayWindow (RFC 4303) per SA and counts rejected packets. \
      --json FILE: one object per window size.
      """)

  @Option(help: "DSCP classes.")
  var classes: Int = 4

  @Option(help: "Packets sent.")
  var packets: Int = 1_000_000

  @Option(help: "Replay window sizes, comma-separated.")
  var windows: String = "32,64,128,1024"

  @Option(help: "Extra queueing delay per class step, in packet times.")
  var classDelay: Int = 100

  @Option(help: "Uniform jitter added to every packet, 0…N packet times.")
  var jitter: Int = 8

  @Option(help: "Random seed.")
  var seed: UInt64 = 1

  @Option(help: "Write one JSON object per window size per line to this file.")
  var json: String?

  func run() throws {
    try reportingErrors {
      guard classes >= 1, packets >= 1, classDelay >= 0, jitter >= 0 else {
        throw ValidationError("--classes and --packets must be at least 1, delays at least 0")
      }
      let windowList = try parseList(windows, "--windows", "a size in 32...4096") {
        Int($0).flatMap { ReplayWindow.sizes.contains($0) ? $0 : nil }
      }
      // Send: class per packet; arrival time; sequence numbers for both designs.
      var rng = SplitMix64(seed: seed)
      var classOf = [Int](repeating: 0, count: packets)
      var arrival = [Int](repeating: 0, count: packets)
      var perClassSequence = [UInt64](repeating: 0, count: packets)
      var nextPerClass = [UInt64](repeating: 1, count: classes)
      for i in 0..<packets {
        let c = Int.random(in: 0..<classes, using: &rng)
        classOf[i] = c
        arrival[i] = i + c * classDelay + Int.random(in: 0...jitter, using: &rng)
        perClassSequence[i] = nextPerClass[c]
        nextPerClass[c] += 1
      }
      let order = (0..<packets).sorted { arrival[$0] != arrival[$1] ? arrival[$0] < arrival[$1] : $0 < $1 }
      // A packet is late when one sent after it has already arrived.
      var late = 0
      var newest = -1
      for i in order {
        if i < newest { late += 1 } else { newest = i }
      }
      print("lookupbench reorder — \(machineDescription())")
      print("\(packets) packets, \(classes) classes, class delay \(classDelay), jitter 0…\(jitter), seed \(seed); "
            + "\(String(format: "%.1f", Double(late) * 100 / Double(packets))) % of packets arrive after one sent later\n")
      var rows: [[String]] = []
      var lines: [String] = []
      for size in windowList {
        var single = try ReplayWindow(size: size)
        var perClass = try (0..<classes).map { _ throws(LookupError) in try ReplayWindow(size: size) }
        for i in order {
          single.checkAndUpdate(UInt64(i + 1))
          perClass[classOf[i]].checkAndUpdate(perClassSequence[i])
        }
        let singleDrops = Double(single.counters.rejected) / Double(packets)
        let perClassDrops = Double(perClass.reduce(0) { $0 + $1.counters.rejected }) / Double(packets)
        rows.append(["\(size)", String(format: "%.3f", singleDrops * 100), String(format: "%.3f", perClassDrops * 100)])
        lines.append(JSONLine.object([
          ("window", "\(size)"), ("classes", "\(classes)"), ("packets", "\(packets)"), ("class_delay", "\(classDelay)"),
          ("jitter", "\(jitter)"), ("drop_rate_one_sa", JSONLine.number(singleDrops, decimals: 6)),
          ("drop_rate_sa_per_class", JSONLine.number(perClassDrops, decimals: 6)), ("seed", "\(seed)"),
        ]))
      }
      print(markdownTable(header: ["window", "drops % (one SA)", "drops % (one SA per DSCP class)"], rows: rows))
      if let json {
        try writeLines(lines, to: json)
        print("\nJSON: \(json)")
      }
    }
  }
}
