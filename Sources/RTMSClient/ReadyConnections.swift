// The media connections of one client that are ready for media, each with the kinds it was
// opened for. Looked up for every media message.

/// Connection id → kinds (bits of MediaKind). A client holds a handful of media connections at
/// most, so a list scanned in order is cheaper per message than hashing the id.
struct ReadyConnections {
    private var entries: [(id: Int, kinds: Int)] = []

    subscript(id: Int) -> Int? {
        get {
            for e in entries where e.id == id { return e.kinds }
            return nil
        }
        set {
            if let i = entries.firstIndex(where: { $0.id == id }) {
                if let newValue { entries[i].kinds = newValue } else { entries.remove(at: i) }
            } else if let newValue {
                entries.append((id, newValue))
            }
        }
    }

    var ids: [Int] { entries.map(\.id) }

    mutating func removeAll() { entries.removeAll(keepingCapacity: true) }
}
