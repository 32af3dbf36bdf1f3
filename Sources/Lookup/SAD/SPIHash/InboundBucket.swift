/// One inbound SA as the SPI hash table stores it: everything an inbound lookup needs, in
/// one 64-byte cache line. A lookup reads its home bucket and the next one (adjacent lines,
/// requested together), so a hit costs one round trip to memory.
///
/// `form` is the key form the SA is registered under (`InboundMatch.rawValue`: 0 {SPI},
/// 1 {SPI, dst}, 2 {SPI, dst, src}); fields outside the form are stored as zero so that
/// equal keys have equal bytes. `sequence` orders SAs by age (larger = newer); 0 marks an
/// empty bucket.
@usableFromInline
internal struct _InboundBucket: Sendable {
  @usableFromInline var destination: UInt128
  @usableFromInline var source: UInt128
  @usableFromInline var sequence: UInt64
  @usableFromInline var spi: UInt32
  @usableFromInline var namespace: UInt32
  @usableFromInline var markValue: UInt32
  @usableFromInline var markMask: UInt32
  @usableFromInline var id: UInt32
  @usableFromInline var proto: UInt8
  @usableFromInline var family: UInt8
  @usableFromInline var form: UInt8
  /// `_InboundBucket.sharedKey` when another bucket holds the same key (SAs that differ only
  /// in their marks): a lookup must then compare all of them by age.
  @usableFromInline var flags: UInt8

  @usableFromInline static let sharedKey: UInt8 = 1

  @usableFromInline static let empty = _InboundBucket(
    destination: 0, source: 0, sequence: 0, spi: 0, namespace: 0, markValue: 0, markMask: 0, id: 0,
    proto: 0, family: 0, form: 0, flags: 0)

  @inlinable
  init(destination: UInt128, source: UInt128, sequence: UInt64, spi: UInt32, namespace: UInt32,
       markValue: UInt32, markMask: UInt32, id: UInt32, proto: UInt8, family: UInt8, form: UInt8, flags: UInt8) {
    self.destination = destination
    self.source = source
    self.sequence = sequence
    self.spi = spi
    self.namespace = namespace
    self.markValue = markValue
    self.markMask = markMask
    self.id = id
    self.proto = proto
    self.family = family
    self.form = form
    self.flags = flags
  }

  /// The bucket of `sa`, registered under `form`.
  @inlinable
  init(_ sa: SecurityAssociation, form: InboundMatch, sequence: UInt64) {
    let key = _InboundKey(sa, form: form)
    self.init(destination: key.destination, source: key.source, sequence: sequence, spi: key.spi,
              namespace: key.namespace, markValue: sa.mark.value, markMask: sa.mark.mask, id: sa.id,
              proto: key.proto, family: key.family, form: key.form, flags: 0)
  }

  @inlinable var key: _InboundKey {
    _InboundKey(destination: destination, source: source, spi: spi, namespace: namespace, proto: proto,
                family: family, form: form)
  }
}

/// An inbound key in one form: the fields a form does not use are zero.
@usableFromInline
internal struct _InboundKey: Hashable, Sendable {
  @usableFromInline var destination: UInt128
  @usableFromInline var source: UInt128
  @usableFromInline var spi: UInt32
  @usableFromInline var namespace: UInt32
  @usableFromInline var proto: UInt8
  @usableFromInline var family: UInt8
  @usableFromInline var form: UInt8

  @inlinable
  init(destination: UInt128, source: UInt128, spi: UInt32, namespace: UInt32, proto: UInt8, family: UInt8, form: UInt8) {
    self.destination = destination
    self.source = source
    self.spi = spi
    self.namespace = namespace
    self.proto = proto
    self.family = family
    self.form = form
  }

  /// The key of a packet in `form`.
  @inlinable @inline(__always)
  init(_ key: SALookupKey, form: UInt8) {
    self.init(destination: form >= 1 ? key.destination : 0, source: form == 2 ? key.source : 0, spi: key.spi,
              namespace: key.namespace, proto: key.proto.rawValue, family: form >= 1 ? key.family.rawValue : 0,
              form: form)
  }

  /// The key an SA is registered under in `form`.
  @inlinable
  init(_ sa: SecurityAssociation, form: InboundMatch) {
    let f = form.rawValue
    self.init(destination: f >= 1 ? sa.destination.bits : 0, source: f == 2 ? sa.source.bits : 0, spi: sa.spi,
              namespace: sa.namespace, proto: sa.proto.rawValue, family: f >= 1 ? sa.family.rawValue : 0, form: f)
  }

  /// The table's seeded hash of the key: each word is multiplied by the table's own random
  /// odd multiplier (so which keys collide depends on the table's seed, not only on the
  /// function), the products are folded, and one finaliser round (`SeededHash.mix`) spreads
  /// them into the low bits the table indexes with — three dependent multiplies in all.
  @inlinable @inline(__always)
  func hash(_ hashing: _InboundHashing) -> UInt64 {
    let header = UInt64(form) << 56 | UInt64(proto) << 48 | UInt64(family) << 40
    var folded = (UInt64(namespace) << 32 | UInt64(spi)) &* hashing.identity
    folded ^= (UInt64(truncatingIfNeeded: destination &>> 64) ^ header) &* hashing.destinationHigh
    folded ^= UInt64(truncatingIfNeeded: destination) &* hashing.destinationLow
    folded ^= UInt64(truncatingIfNeeded: source &>> 64) &* hashing.sourceHigh
    folded ^= UInt64(truncatingIfNeeded: source) &* hashing.sourceLow
    return SeededHash.mix(hashing.seed, folded)
  }

  /// Zero exactly when `bucket` holds this key (an empty bucket is all zeros and never does:
  /// every key's protocol is ESP, AH or IPcomp, none of them 0), computed without branches.
  @inlinable @inline(__always)
  func difference(from bucket: UnsafePointer<_InboundBucket>) -> UInt64 {
    let header = UInt64(spi) | UInt64(namespace) << 32
    let stored = UInt64(bucket.pointee.spi) | UInt64(bucket.pointee.namespace) << 32
    let small = UInt64(proto) | UInt64(family) << 8 | UInt64(form) << 16
    let storedSmall = UInt64(bucket.pointee.proto) | UInt64(bucket.pointee.family) << 8 | UInt64(bucket.pointee.form) << 16
    let addresses = (destination ^ bucket.pointee.destination) | (source ^ bucket.pointee.source)
    return (header ^ stored) | (small ^ storedSmall) | UInt64(truncatingIfNeeded: addresses)
      | UInt64(truncatingIfNeeded: addresses &>> 64)
  }

  /// Whether `bucket` (occupied) holds this key.
  @inlinable @inline(__always)
  func isKey(of bucket: UnsafePointer<_InboundBucket>) -> Bool {
    bucket.pointee.spi == spi && bucket.pointee.namespace == namespace && bucket.pointee.form == form
      && bucket.pointee.proto == proto && bucket.pointee.family == family
      && bucket.pointee.destination == destination && bucket.pointee.source == source
  }
}

/// The random parameters of one table's hash: a seed and an odd multiplier per key word.
@usableFromInline
internal struct _InboundHashing: Sendable {
  @usableFromInline let seed: UInt64
  @usableFromInline let identity: UInt64
  @usableFromInline let destinationHigh: UInt64
  @usableFromInline let destinationLow: UInt64
  @usableFromInline let sourceHigh: UInt64
  @usableFromInline let sourceLow: UInt64

  init(seed: UInt64) {
    self.seed = seed
    var generator = SplitMix64(seed: seed)
    identity = generator.next() | 1
    destinationHigh = generator.next() | 1
    destinationLow = generator.next() | 1
    sourceHigh = generator.next() | 1
    sourceLow = generator.next() | 1
  }
}
