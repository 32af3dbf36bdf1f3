import ArgumentParser
import Lookup

/// `lookupbench list`: the structure names, one per line.
struct ListStructures: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list", abstract: "Print the names of the available structures, one per line.")

  @Flag(name: .shortAndLong, help: "Also print each structure's kind (spd/sad/pfp) and what it models.")
  var verbose = false

  func run() {
    for descriptor in StructureCatalog.all {
      print(verbose ? "\(descriptor.name)\t\(descriptor.kind.rawValue)\t\(descriptor.summary)" : descriptor.name)
    }
  }
}
