import ArgumentParser
import Foundation
import Lookup

/// `lookupbench demo`: the newcomer's tour on the data shipped in the repository.
struct Demo: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Classify, verify and time every structure on the ClassBench sets shipped in Data/.",
    discussion: "Run it as `swift run -c release lookupbench demo`; debug-build timings are flagged as meaningless.")

  @Option(help: "The folder holding <set>.rules and <set>.trace (default: Data/classbench of the checkout).")
  var data: String?

  @Option(help: "Timed passes over each trace; the median is reported.")
  var passes: Int = 5


  func validate() throws {
    guard passes >= 1 else { throw ValidationError("--passes must be at least 1") }
  }

  func run() throws {
    try reportingErrors {
      let folder = try data ?? locateShippedData()
      let names = StructureCatalog.policyDatabaseNames
      print("Lookup demo — \(machineDescription())")
      print("Data: \(folder); \(passes) passes per figure, median; single lookups in trace order\n")
      var rows: [[String]] = []
      var allAgree = true
      for set in ["acl1_1k", "fw1_1k", "ipc1_1k"] {
        let workload = try ClassBenchWorkload(rules: "\(folder)/\(set).rules", trace: "\(folder)/\(set).trace")
        let verdict = try verifyStructures(names, on: workload, show: 3)
        allAgree = allAgree && verdict.agree
        if !verdict.agree { verdict.report.forEach { print($0) } }
        let reference = try workload.build("linear").classify(workload.keys)
        let consistent = zip(reference, workload.headers).allSatisfy { $0 >= 0 && $0 <= $1.generatingRule }
        for name in names {
          let database = try workload.build(name)
          let nanoseconds = median(try StructureCatalog.visitPolicyDatabase(
            named: name, TimedLookupsVisitor(policies: workload.policies, keys: workload.keys, passes: passes)))
          rows.append([set, name, "\(workload.rules.rules.count)", "\(workload.keys.count)",
                       String(format: "%.1f", nanoseconds), "\(database.memoryFootprint)",
                       verdict.agree && consistent ? "yes" : "NO"])
        }
      }
      print(table(header: ["set", "structure", "rules", "lookups", "ns/lookup", "bytes", "verified"], rows: rows))
      print(allAgree ? "\nAll structures agree with linear on every shipped trace."
                     : "\nDISAGREEMENT: see above.")
      if !allAgree { throw ExitCode(ExitStatus.disagreement) }
    }
  }
}

/// Builds a structure of a concrete type and times single lookups (specialised code).
struct TimedLookupsVisitor: PolicyDatabaseVisitor {
  let policies: [Policy]
  let keys: [FlowKey]
  let passes: Int

  func visit<D: PolicyDatabase>(_ make: () -> D) throws -> [Double] {
    var database = make()
    for policy in policies { try database.insert(policy) }
    return measureSingleLookups(database, keys: keys, passes: passes)
  }
}

/// `Data/classbench` in the working directory, or beside the checkout that built this binary.
func locateShippedData() throws -> String {
  var candidates = ["Data/classbench"]
  if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
    var url = URL(fileURLWithPath: executable)
    for _ in 0..<5 {
      url.deleteLastPathComponent()
      candidates.append(url.appendingPathComponent("Data/classbench").path)
    }
  }
  for candidate in candidates where FileManager.default.fileExists(atPath: candidate + "/acl1_1k.rules") {
    return candidate
  }
  throw FileReadError(path: "Data/classbench", reason: "shipped data not found; run from the checkout or pass --data DIR")
}

/// A plain-text table with aligned columns (numbers right-aligned).
func table(header: [String], rows: [[String]]) -> String {
  let all = [header] + rows
  let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
  func line(_ cells: [String]) -> String {
    cells.enumerated().map { column, cell in
      let pad = String(repeating: " ", count: widths[column] - cell.count)
      return Double(cell) != nil ? pad + cell : cell + pad
    }.joined(separator: "  ")
  }
  return ([line(header), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")] + rows.map(line))
    .joined(separator: "\n")
}
