import Foundation

/// A number or a per-channel list of numbers, as `metadata.json` writes `scale` and `offset`.
public enum PerChannel: Codable, Equatable {
    case single(Double)
    case list([Double])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let v = try? c.decode(Double.self) {
            self = .single(v)
        } else {
            self = .list(try c.decode([Double].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .single(let v): try c.encode(v)
        case .list(let v): try c.encode(v)
        }
    }

    /// One Float per channel.
    public func values(channels: Int) throws -> [Float] {
        switch self {
        case .single(let v): return [Float](repeating: Float(v), count: channels)
        case .list(let v):
            guard v.count == channels else {
                throw ContractError.invalid("contract input scale/offset: expected \(channels) values, found \(v.count)")
            }
            return v.map { Float($0) }
        }
    }
}

public enum ContractError: Error, CustomStringConvertible {
    case invalid(String)
    public var description: String {
        switch self {
        case .invalid(let m): return m
        }
    }
}

/// The model contract read from `metadata.json` (or the contract embedded in the artifact): input size,
/// channels, normalisation, channel order, output kind, labels and threshold. Nothing is hard-coded in the app.
public struct Contract: Codable, Equatable {
    public struct Input: Codable, Equatable {
        public var height: Int
        public var width: Int
        public var channels: Int?
        public var scale: PerChannel?
        public var offset: PerChannel?
        public var layout: String?
        public var channel_order: String?
    }

    public struct Output: Codable, Equatable {
        public var kind: String?
        public var labels: [String]?
        public var foreground_index: Int?
        /// Legacy name of `foreground_index` (v1 files and v2 files written before the rename); read when it is absent.
        public var person_index: Int?
        public var threshold: Double?
    }

    /// `metadata.json` `task` (v2); only its name matters to the apps (other keys are ignored).
    public struct TaskInfo: Codable, Equatable {
        public var name: String?
    }

    public var name: String?
    public var task: TaskInfo?
    public var input: Input
    public var output: Output

    /// The model's task (`person` for v1 metadata without one).
    public var taskName: String { task?.name ?? "person" }
    /// A K-class (body-part parsing) model: a task other than person with more than two labels (GOLDEN.md step 12).
    public var isMultiClass: Bool { labels.count > 2 && taskName != "person" }

    public static func parse(_ data: Data) throws -> Contract {
        let c = try JSONDecoder().decode(Contract.self, from: data)
        try c.validate()
        return c
    }

    public var height: Int { input.height }
    public var width: Int { input.width }
    public var channels: Int { input.channels ?? 3 }
    public var channelOrder: String { channels == 1 ? "GRAY" : (input.channel_order ?? "RGB") }
    public var kind: String { output.kind ?? "softmax" }
    public var labels: [String] { output.labels ?? ["background", "person"] }
    /// Channel of the foreground class (`output.foreground_index`, else the legacy `person_index`).
    public var personIndex: Int { output.foreground_index ?? output.person_index ?? (labels.count > 1 ? 1 : 0) }
    public var threshold: Float { Float(output.threshold ?? 0.5) }
    public var scale: [Float] { (try? (input.scale ?? .single(1.0 / 255.0)).values(channels: channels)) ?? [] }
    public var offset: [Float] { (try? (input.offset ?? .single(0)).values(channels: channels)) ?? [] }

    public func validate() throws {
        guard height > 0, width > 0 else { throw ContractError.invalid("contract input: expected a positive size, found \(width)x\(height)") }
        guard channels == 1 || channels == 3 else { throw ContractError.invalid("contract input channels: expected 1 or 3, found \(channels)") }
        guard ["softmax", "sigmoid", "logits"].contains(kind) else {
            throw ContractError.invalid("contract output kind: expected softmax, sigmoid or logits, found \(kind)")
        }
        _ = try (input.scale ?? .single(1.0 / 255.0)).values(channels: channels)
        _ = try (input.offset ?? .single(0)).values(channels: channels)
        if labels.count > 1 && (personIndex < 0 || personIndex >= labels.count) {
            let key = output.foreground_index != nil ? "foreground_index" : "person_index"
            throw ContractError.invalid("contract output \(key): expected 0..\(labels.count - 1), found \(personIndex)")
        }
    }
}
