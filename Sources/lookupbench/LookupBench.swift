import ArgumentParser
import Lookup

/// `lookupbench`: run, classify, verify and measure Lookup's structures.
///
/// Thin over the library: workloads come from `Formats`, structures from `StructureCatalog`,
/// and every lookup loop is a generic function specialised for the structure it runs.
@main
struct LookupBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "lookupbench",
    abstract: "Compare IPsec SPD/SAD lookup structures with Linux xfrm semantics.",
    subcommands: [ListStructures.self, Classify.self, Verify.self, Bench.self, HitRate.self, SADBench.self, PFPExperiment.self,
                  ReorderExperiment.self, Robustness.self, Demo.self]
  )
}
