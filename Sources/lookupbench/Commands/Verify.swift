import ArgumentParser
import Lookup

/// `lookupbench verify`: every (or the named) SPD structure against `linear` on a trace.
struct Verify: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Check that structures answer exactly what `linear` answers on a trace.",
    discussion: """
      Checks single and batch lookups. Prints `verify: N structures agree on M lookups` and \
      exits 0, or prints the first disagreements (header, expected, got) and exits 1.
      """)

  @OptionGroup var input: ClassBenchInput

  @OptionGroup(title: "Structure options")
  var structureOptions: StructureOptionsArguments

  @Option(help: "Comma-separated structure names (default: every SPD structure).")
  var structures: String?

  @Option(help: "How many disagreements to print per structure.")
  var show: Int = 10

  func validate() throws {
    guard show >= 0 else { throw ValidationError("--show must be at least 0") }
  }

  func run() throws {
    let ok = try reportingErrors { () throws -> Bool in
      let workload = try input.workload()
      let names = try structureNames(structures, default: StructureCatalog.policyDatabaseNames)
      let result = try verifyStructures(names, on: workload, show: show, options: try structureOptions.options())
      result.report.forEach { print($0) }
      return result.agree
    }
    if !ok { throw ExitCode(ExitStatus.disagreement) }
  }
}

/// Compares each named structure with `linear` on a workload's trace. Returns whether all
/// agree and the lines to print.
func verifyStructures(_ names: [String], on workload: ClassBenchWorkload, show: Int,
                      options: StructureOptions = StructureOptions()) throws -> (agree: Bool, report: [String]) {
  for name in names { _ = try StructureCatalog.makePolicyDatabase(named: name, options: options) }  // unknown names fail first
  let expected = try workload.build("linear").classify(workload.keys)
  var report: [String] = []
  var allAgree = true
  for name in names {
    let database = try workload.build(name, options: options)
    for (mode, got) in [("single", database.classify(workload.keys)), ("batch", database.classifyBatched(workload.keys))] {
    let wrong = workload.keys.indices.filter { got[$0] != expected[$0] }
    if !wrong.isEmpty {
      allAgree = false
      report.append("verify: \(name) (\(mode) lookups) disagrees with linear on \(wrong.count) of \(workload.keys.count) lookups")
      for i in wrong.prefix(show) {
        let h = workload.headers[i]
        report.append("  header \(i + 1) (\(h.source) \(h.destination) \(h.sourcePort) \(h.destinationPort) \(h.proto)): expected \(expected[i]), got \(got[i])")
      }
    }
    }
  }
  if allAgree {
    report.append("verify: \(names.count) structures agree on \(workload.keys.count) lookups (single and batch)")
  }
  return (allAgree, report)
}
