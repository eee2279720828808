//! A compressed byte trie (radix tree) for the non-exact rules of an [`Acl`]: looking
//! a request path up walks it once, visiting every stored key that is a prefix of the
//! path, shortest first, without allocating.
//!
//! [`Acl`]: super::Acl

/// Radix tree from byte strings to `V`, stored in one arena of nodes.
#[derive(Clone, Debug)]
pub(crate) struct Trie<V> {
    nodes: Vec<Node<V>>,
}

#[derive(Clone, Debug)]
struct Node<V> {
    /// Outgoing edges, sorted by their first byte (edges from one node never share it).
    edges: Vec<Edge>,
    value: Option<V>,
}

#[derive(Clone, Debug)]
struct Edge {
    label: Box<[u8]>,
    child: usize,
}

impl Edge {
    fn first(&self) -> u8 {
        self.label.first().copied().unwrap_or_default()
    }
}

impl<V> Node<V> {
    fn empty() -> Self {
        Node {
            edges: Vec::new(),
            value: None,
        }
    }

    fn edge_for(&self, byte: u8) -> Result<usize, usize> {
        self.edges.binary_search_by_key(&byte, Edge::first)
    }
}

impl<V> Default for Trie<V> {
    fn default() -> Self {
        Trie {
            nodes: vec![Node::empty()],
        }
    }
}

impl<V> Trie<V> {
    /// The value stored under `key`, inserted with `make` if there is none yet.
    pub(crate) fn entry(&mut self, key: &[u8], make: impl FnOnce() -> V) -> &mut V {
        let node = self.node_for(key);
        self.nodes[node].value.get_or_insert_with(make)
    }

    /// Index of the node that ends exactly at `key`, creating (and splitting edges
    /// for) it as needed.
    fn node_for(&mut self, key: &[u8]) -> usize {
        let mut node = 0;
        let mut rest = key;
        while let Some(&byte) = rest.first() {
            match self.nodes[node].edge_for(byte) {
                Err(at) => {
                    let leaf = self.nodes.len();
                    self.nodes.push(Node::empty());
                    self.nodes[node].edges.insert(
                        at,
                        Edge {
                            label: rest.into(),
                            child: leaf,
                        },
                    );
                    return leaf;
                }
                Ok(i) => {
                    let edge = &self.nodes[node].edges[i];
                    let common = edge
                        .label
                        .iter()
                        .zip(rest)
                        .take_while(|(a, b)| a == b)
                        .count();
                    if common < edge.label.len() {
                        // Split the edge: node -label[..common]-> mid -label[common..]-> child.
                        let mid = self.nodes.len();
                        let tail = Edge {
                            label: edge.label[common..].into(),
                            child: edge.child,
                        };
                        let head: Box<[u8]> = edge.label[..common].into();
                        self.nodes.push(Node {
                            edges: vec![tail],
                            value: None,
                        });
                        let edge = &mut self.nodes[node].edges[i];
                        edge.label = head;
                        edge.child = mid;
                        node = mid;
                    } else {
                        node = edge.child;
                    }
                    rest = &rest[common..];
                }
            }
        }
        node
    }

    /// Calls `visit(len, value)` for every stored key that is a prefix of `key`
    /// (`len` is the key's length), from the shortest to the longest.
    pub(crate) fn walk<'a>(&'a self, key: &[u8], mut visit: impl FnMut(usize, &'a V)) {
        let mut node = &self.nodes[0];
        let mut pos = 0;
        loop {
            if let Some(value) = &node.value {
                visit(pos, value);
            }
            let Some(&byte) = key.get(pos) else { return };
            let Ok(i) = node.edge_for(byte) else { return };
            let edge = &node.edges[i];
            if !key[pos..].starts_with(&edge.label) {
                return;
            }
            pos += edge.label.len();
            node = &self.nodes[edge.child];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefixes(trie: &Trie<&'static str>, key: &str) -> Vec<(usize, &'static str)> {
        let mut out = Vec::new();
        trie.walk(key.as_bytes(), |len, v| out.push((len, *v)));
        out
    }

    #[test]
    fn walk_visits_every_stored_prefix() {
        let mut trie = Trie::default();
        for key in [
            "secret/",
            "secret/data/",
            "secret/da",
            "sys/",
            "",
            "secret/data/app",
        ] {
            *trie.entry(key.as_bytes(), || "") = key;
        }
        assert_eq!(
            prefixes(&trie, "secret/data/app/x"),
            [
                (0, ""),
                (7, "secret/"),
                (9, "secret/da"),
                (12, "secret/data/"),
                (15, "secret/data/app")
            ]
        );
        assert_eq!(prefixes(&trie, "secret/d"), [(0, ""), (7, "secret/")]);
        assert_eq!(prefixes(&trie, "sys"), [(0, "")]);
        assert_eq!(prefixes(&trie, "auth/x"), [(0, "")]);
        // Existing entries are returned, not replaced.
        assert_eq!(*trie.entry(b"sys/", || "new"), "sys/");
    }
}
