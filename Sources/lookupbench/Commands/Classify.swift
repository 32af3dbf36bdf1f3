import ArgumentParser
import Lookup

/// `lookupbench classify`: one line per trace header, the 0-based index of the first matching
/// rule or -1. The output format is a contract.
struct Classify: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Classify a ClassBench trace against a rule file with one structure.",
    discussion: "Prints one line per trace header: the 0-based index of the first matching rule, or -1.")

  @Option(help: "The SPD structure to use (see `lookupbench list`).")
  var structure: String = "linear"

  @OptionGroup var input: ClassBenchInput

  @OptionGroup(title: "Structure options")
  var structureOptions: StructureOptionsArguments

  func run() throws {
    try reportingErrors {
      let workload = try input.workload()
      let database = try workload.build(structure, options: try structureOptions.options())
      var output = BufferedOutput()
      for answer in database.classify(workload.keys) { output.write("\(answer)\n") }
      output.flush()
    }
  }
}
