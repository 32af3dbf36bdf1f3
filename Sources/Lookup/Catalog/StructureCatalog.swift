/// Whether a structure is a security policy database or a security association database.
public enum StructureKind: String, Hashable, Sendable {
  case spd
  case sad
  /// An SPD with populate-from-packet SA bindings and ACQUIREs (`PFPTable`).
  case pfp
}

/// A structure the catalog can build by name.
public struct StructureDescriptor: Hashable, Sendable {
  /// The name used on the command line (`linear`, `radix`, `cache+radix`, `sad-linear`, …). Stable.
  public let name: String
  public let kind: StructureKind
  /// One line: what the structure models.
  public let summary: String
}

/// Settings a structure name alone does not carry.
public struct StructureOptions: Hashable, Sendable {
  /// The configuration of `cache+…` structures.
  public var cache: FlowCacheConfiguration
  /// The thresholds of `hashed`.
  public var hashThresholds: HashThresholds

  public init(cache: FlowCacheConfiguration? = nil, hashThresholds: HashThresholds = .kernelDefault) {
    self.cache = cache ?? FlowCache<LinearPolicyTable>.defaultConfiguration
    self.hashThresholds = hashThresholds
  }
}

/// Generic code to run with a concrete SPD structure type (see
/// `StructureCatalog.visitPolicyDatabase(named:options:_:)`): `make` builds an empty one.
public protocol PolicyDatabaseVisitor {
  associatedtype Output
  func visit<D: PolicyDatabase>(_ make: () -> D) throws -> Output
}

/// The structures Lookup offers, by name: how the runner, the tests and (later) the C API
/// pick a structure. `visitPolicyDatabase` hands generic code the concrete type, so timed
/// loops are specialised; `makePolicyDatabase` returns an existential for everything else.
public enum StructureCatalog {
  /// The SPD structures that stand alone (each also exists as `cache+NAME`).
  static let basePolicyDatabases: [(name: String, summary: String)] = [
    ("linear", "LinearPolicyTable: priority-ordered list, the reference SPD"),
    ("tuplespace", "TupleSpaceTable: tuple space search, TupleMerge-relaxed prefix classes"),
    ("radix", "RadixPolicyTree: path-compressed dst trie of src tries (the kernel's inexact bins)"),
    ("hashed", "HashedSelectorTable: the kernel's exact hash (hthresh) + radix tree for the rest"),
  ]

  /// Every structure, SPD first, in the order `lookupbench list` prints them.
  public static let all: [StructureDescriptor] =
    basePolicyDatabases.map { StructureDescriptor(name: $0.name, kind: .spd, summary: $0.summary) }
    + basePolicyDatabases.map {
      StructureDescriptor(name: "cache+" + $0.name, kind: .spd,
                          summary: "FlowCache over \($0.name): exact-match flow cache (options: --cache-*)")
    }
    + [
      StructureDescriptor(name: "sad-linear", kind: .sad, summary: "LinearSAD: list scanned newest first, the reference SAD"),
      StructureDescriptor(name: "sad-spi", kind: .sad,
                          summary: "SPIHashTable: one memory round trip per inbound lookup (kernel or RFC 4301 precedence)"),
      StructureDescriptor(name: "sad-ns", kind: .sad,
                          summary: "NamespacedSAD: per-VM SPI namespaces (VLAN + MAC), SPI allocator, per-VM caps"),
      StructureDescriptor(name: "pfp", kind: .pfp,
                          summary: "PFPTable over tuplespace: populate-from-packet SAs, per-policy caps, bounded ACQUIREs"),
    ]

  /// The SPD structures' names.
  public static var policyDatabaseNames: [String] { all.filter { $0.kind == .spd }.map(\.name) }

  /// The SPD structures without a cache in front.
  public static var uncachedPolicyDatabaseNames: [String] { basePolicyDatabases.map(\.name) }

  /// The SAD structures' names.
  public static var securityAssociationDatabaseNames: [String] { all.filter { $0.kind == .sad }.map(\.name) }

  /// The descriptor of a name.
  public static func descriptor(named name: String) throws(LookupError) -> StructureDescriptor {
    guard let descriptor = all.first(where: { $0.name == name }) else { throw .unknownStructure(name) }
    return descriptor
  }

  /// Calls `visitor` with a factory of the named SPD structure's concrete type.
  /// - Throws: `LookupError.unknownStructure` / `.unsupported` for a name that is not an SPD
  ///   structure, or what the visitor throws.
  @inlinable
  public static func visitPolicyDatabase<V: PolicyDatabaseVisitor>(
    named name: String, options: StructureOptions = StructureOptions(), _ visitor: V
  ) throws -> V.Output {
    if name.hasPrefix("cache+") {
      let configuration = options.cache
      switch name.dropFirst(6) {
      case "linear": return try visitor.visit { FlowCache(base: LinearPolicyTable(), configuration: configuration) }
      case "tuplespace": return try visitor.visit { FlowCache(base: TupleSpaceTable(), configuration: configuration) }
      case "radix": return try visitor.visit { FlowCache(base: RadixPolicyTree(), configuration: configuration) }
      case "hashed":
        let thresholds = options.hashThresholds
        return try visitor.visit { FlowCache(base: HashedSelectorTable(thresholds: thresholds), configuration: configuration) }
      default: break
      }
    } else {
      switch name {
      case "linear": return try visitor.visit { LinearPolicyTable() }
      case "tuplespace": return try visitor.visit { TupleSpaceTable() }
      case "radix": return try visitor.visit { RadixPolicyTree() }
      case "hashed":
        let thresholds = options.hashThresholds
        return try visitor.visit { HashedSelectorTable(thresholds: thresholds) }
      default: break
      }
    }
    if (try? descriptor(named: name))?.kind == .sad {
      throw LookupError.unsupported("'\(name)' is an SAD structure; an SPD structure is needed here")
    }
    throw LookupError.unknownStructure(name)
  }

  /// An empty SPD structure.
  /// - Throws: `.unknownStructure` for a name that is not an SPD structure.
  public static func makePolicyDatabase(named name: String, options: StructureOptions = StructureOptions())
  throws(LookupError) -> any PolicyDatabase {
    struct Make: PolicyDatabaseVisitor {
      func visit<D: PolicyDatabase>(_ make: () -> D) -> any PolicyDatabase { make() }
    }
    do {
      return try visitPolicyDatabase(named: name, options: options, Make())
    } catch let error as LookupError {
      throw error
    } catch {
      throw .unsupported("\(error)")
    }
  }

  /// An empty SAD structure.
  public static func makeSecurityAssociationDatabase(named name: String, inboundMode: InboundLookupMode = .kernel)
  throws(LookupError) -> any SecurityAssociationDatabase {
    switch name {
    case "sad-linear": return LinearSAD(inboundMode: inboundMode)
    case "sad-spi": return SPIHashTable(inboundMode: inboundMode)
    case "sad-ns": return NamespacedSAD(inboundMode: inboundMode)
    default:
      if (try? descriptor(named: name))?.kind == .spd {
        throw .unsupported("'\(name)' is an SPD structure; an SAD structure is needed here")
      }
      throw .unknownStructure(name)
    }
  }
}
