/// Whether a structure is a security policy database or a security association database.
public enum StructureKind: String, Hashable, Sendable {
  case spd
  case sad
}

/// A structure the catalog can build by name.
public struct StructureDescriptor: Hashable, Sendable {
  /// The name used on the command line (`linear`, `radix`, `sad-linear`, …). Stable.
  public let name: String
  public let kind: StructureKind
  /// One line: what the structure models.
  public let summary: String
}

/// The structures Lookup offers, by name: how the runner, the tests and (later) the C API
/// pick a structure. Factories return an existential once; callers open it into a generic
/// function so the lookup loop is specialised.
public enum StructureCatalog {
  /// Every structure, SPD first, in the order `lookupbench list` prints them.
  public static let all: [StructureDescriptor] = [
    StructureDescriptor(name: "linear", kind: .spd,
                        summary: "LinearPolicyTable: priority-ordered list, the reference SPD"),
    StructureDescriptor(name: "radix", kind: .spd,
                        summary: "RadixPolicyTree: path-compressed dst trie of src tries (the kernel's inexact bins)"),
    StructureDescriptor(name: "sad-linear", kind: .sad,
                        summary: "LinearSAD: list scanned newest first, the reference SAD"),
  ]

  /// The SPD structures' names.
  public static var policyDatabaseNames: [String] { all.filter { $0.kind == .spd }.map(\.name) }

  /// The SAD structures' names.
  public static var securityAssociationDatabaseNames: [String] { all.filter { $0.kind == .sad }.map(\.name) }

  /// The descriptor of a name.
  public static func descriptor(named name: String) throws(LookupError) -> StructureDescriptor {
    guard let descriptor = all.first(where: { $0.name == name }) else { throw .unknownStructure(name) }
    return descriptor
  }

  /// An empty SPD structure.
  /// - Throws: `.unknownStructure` for a name that is not an SPD structure.
  public static func makePolicyDatabase(named name: String) throws(LookupError) -> any PolicyDatabase {
    switch name {
    case "linear": return LinearPolicyTable()
    case "radix": return RadixPolicyTree()
    default:
      if (try? descriptor(named: name))?.kind == .sad {
        throw .unsupported("'\(name)' is an SAD structure; an SPD structure is needed here")
      }
      throw .unknownStructure(name)
    }
  }

  /// An empty SAD structure.
  public static func makeSecurityAssociationDatabase(named name: String, inboundMode: InboundLookupMode = .kernel)
  throws(LookupError) -> any SecurityAssociationDatabase {
    switch name {
    case "sad-linear": return LinearSAD(inboundMode: inboundMode)
    default:
      if (try? descriptor(named: name))?.kind == .spd {
        throw .unsupported("'\(name)' is an SPD structure; an SAD structure is needed here")
      }
      throw .unknownStructure(name)
    }
  }
}
