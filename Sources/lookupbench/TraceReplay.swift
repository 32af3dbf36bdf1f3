import ArgumentParser
import Lookup

/// How `bench` replays a trace: in file order (the default), or with its keys repeated, so
/// that a lookup's cost can be taken apart into instructions, memory and branch prediction.
///
/// - `each:N` — every key N times in a row: from the second time on, the lines it touches
///   are in L1 and the predictor has seen its branches (what is left is instructions).
/// - `bursts:N` — every burst of 64 keys N times, in the same order: the lines are in L1
///   and the predictor can learn the burst's sequence of branches.
/// - `shuffled-bursts:N` — every burst N times, shuffled anew each time (fixed seed): the
///   lines are in L1, but the order of branches is new each time. Against file order this
///   shows what memory costs; against `bursts:N`, what mispredicted branches cost.
enum TraceReplay: Equatable, CustomStringConvertible, ExpressibleByArgument {
  case file
  case eachKey(Int)
  case bursts(Int)
  case shuffledBursts(Int)

  static let burst = 64

  init?(argument: String) {
    if argument == "file" {
      self = .file
      return
    }
    let parts = argument.split(separator: ":", maxSplits: 1).map(String.init)
    guard parts.count == 2, let times = Int(parts[1]), (1...1000).contains(times) else { return nil }
    switch parts[0] {
    case "each": self = .eachKey(times)
    case "bursts": self = .bursts(times)
    case "shuffled-bursts": self = .shuffledBursts(times)
    default: return nil
    }
  }

  static var allValueStrings: [String] { ["file", "each:N", "bursts:N", "shuffled-bursts:N"] }

  var description: String {
    switch self {
    case .file: "file"
    case .eachKey(let n): "each:\(n)"
    case .bursts(let n): "bursts:\(n)"
    case .shuffledBursts(let n): "shuffled-bursts:\(n)"
    }
  }

  /// Words for a report's header line.
  var prose: String {
    switch self {
    case .file: "in file order"
    case .eachKey(let n): "in file order, each key \(n) times in a row"
    case .bursts(let n): "in file order, each burst of \(Self.burst) keys \(n) times"
    case .shuffledBursts(let n): "in file order, each burst of \(Self.burst) keys \(n) times, reshuffled each time (seed 7)"
    }
  }

  /// The keys to look up.
  func apply<Key>(_ keys: [Key]) -> [Key] {
    switch self {
    case .file:
      return keys
    case .eachKey(let n):
      return keys.flatMap { repeatElement($0, count: n) }
    case .bursts(let n):
      return stride(from: 0, to: keys.count, by: Self.burst).flatMap { start in
        let burst = keys[start..<min(start + Self.burst, keys.count)]
        return (0..<n).flatMap { _ in burst }
      }
    case .shuffledBursts(let n):
      var generator = SplitMix64(seed: 7)
      return stride(from: 0, to: keys.count, by: Self.burst).flatMap { start in
        let burst = Array(keys[start..<min(start + Self.burst, keys.count)])
        return (0..<n).flatMap { _ in burst.shuffled(using: &generator) }
      }
    }
  }
}
