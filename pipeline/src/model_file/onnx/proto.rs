//! ONNX's protobuf messages, written by hand: the subset of `onnx.proto`
//! an exported model uses (model, opset, graph, node, attribute, tensor,
//! value info, metadata), with its field numbers. No protobuf crate.
//!
//! Protobuf's wire format: each field is a key (`number << 3 | wire
//! type`) as a varint, then its value: a varint (type 0: integers and
//! enums, negative ones as ten bytes of two's complement), four
//! little-endian bytes (type 5: `float`), or a length and that many bytes
//! (type 2: strings, bytes, nested messages). Repeated numbers are written
//! one field each (not packed), which every parser reads; tensor values go
//! in `raw_data` (little-endian).

/// Wire type of varints.
const VARINT: u32 = 0;
/// Wire type of length-delimited values.
const LEN: u32 = 2;
/// Wire type of 32-bit values.
const FIXED32: u32 = 5;

/// `TensorProto.DataType.FLOAT`.
pub const FLOAT: i64 = 1;
/// `TensorProto.DataType.INT64`.
pub const INT64: i64 = 7;

/// One message's bytes, written field by field.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Msg(Vec<u8>);

impl Msg {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u32) {
        self.varint(u64::from((field << 3) | wire));
    }

    /// An integer field (`int32`, `int64`, an enum).
    pub fn int(&mut self, field: u32, v: i64) -> &mut Msg {
        self.key(field, VARINT);
        self.varint(v as u64);
        self
    }

    /// A `float` field.
    pub fn float(&mut self, field: u32, v: f32) -> &mut Msg {
        self.key(field, FIXED32);
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// A `bytes` field.
    pub fn bytes(&mut self, field: u32, b: &[u8]) -> &mut Msg {
        self.key(field, LEN);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }

    /// A `string` field.
    pub fn string(&mut self, field: u32, s: &str) -> &mut Msg {
        self.bytes(field, s.as_bytes())
    }

    /// A nested message.
    pub fn msg(&mut self, field: u32, m: &Msg) -> &mut Msg {
        self.bytes(field, &m.0)
    }

    /// The bytes written.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// An attribute's value (`AttributeProto`, with its `type`).
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    /// `FLOAT` (field `f`).
    Float(f32),
    /// `INT` (field `i`).
    Int(i64),
    /// `INTS` (field `ints`).
    Ints(Vec<i64>),
}

/// A named attribute of a node.
#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    /// Its name (`axis`, `kernel_shape`…).
    pub name: &'static str,
    /// Its value.
    pub value: AttrValue,
}

impl Attr {
    /// An integer attribute.
    pub fn int(name: &'static str, v: i64) -> Attr {
        Attr {
            name,
            value: AttrValue::Int(v),
        }
    }

    /// A float attribute.
    pub fn float(name: &'static str, v: f32) -> Attr {
        Attr {
            name,
            value: AttrValue::Float(v),
        }
    }

    /// A list-of-integers attribute.
    pub fn ints(name: &'static str, v: &[i64]) -> Attr {
        Attr {
            name,
            value: AttrValue::Ints(v.to_vec()),
        }
    }

    fn encode(&self) -> Msg {
        let mut m = Msg::default();
        m.string(1, self.name);
        match &self.value {
            AttrValue::Float(v) => m.float(2, *v).int(20, 1),
            AttrValue::Int(v) => m.int(3, *v).int(20, 2),
            AttrValue::Ints(vs) => {
                for &v in vs {
                    m.int(8, v);
                }
                m.int(20, 7)
            }
        };
        m
    }
}

/// One operation of the graph (`NodeProto`, default domain).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Operator (`Conv`, `Relu`…).
    pub op: &'static str,
    /// Names of its inputs.
    pub inputs: Vec<String>,
    /// Names of its outputs.
    pub outputs: Vec<String>,
    /// Node name.
    pub name: String,
    /// Attributes.
    pub attrs: Vec<Attr>,
}

impl Node {
    fn encode(&self) -> Msg {
        let mut m = Msg::default();
        for i in &self.inputs {
            m.string(1, i);
        }
        for o in &self.outputs {
            m.string(2, o);
        }
        m.string(3, &self.name).string(4, self.op);
        for a in &self.attrs {
            m.msg(5, &a.encode());
        }
        m
    }
}

/// A tensor's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// `FLOAT`.
    F32(Vec<f32>),
    /// `INT64`.
    I64(Vec<i64>),
}

/// A named constant (`TensorProto`, an initializer).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Name.
    pub name: String,
    /// Shape (empty: a scalar).
    pub dims: Vec<i64>,
    /// Values, row-major.
    pub data: Data,
}

impl Tensor {
    fn encode(&self) -> Msg {
        let mut m = Msg::default();
        for &d in &self.dims {
            m.int(1, d);
        }
        let raw: Vec<u8> = match &self.data {
            Data::F32(v) => {
                m.int(2, FLOAT);
                v.iter().flat_map(|x| x.to_le_bytes()).collect()
            }
            Data::I64(v) => {
                m.int(2, INT64);
                v.iter().flat_map(|x| x.to_le_bytes()).collect()
            }
        };
        m.string(8, &self.name).bytes(9, &raw);
        m
    }
}

/// A dimension of a graph input or output.
#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    /// A fixed size.
    Fixed(i64),
    /// A size given at run time, by name (`batch`).
    Named(&'static str),
}

/// A graph input or output: a float tensor of this shape (`ValueInfoProto`).
#[derive(Debug, Clone, PartialEq)]
pub struct ValueInfo {
    /// Name.
    pub name: String,
    /// Shape.
    pub dims: Vec<Dim>,
    /// What it holds.
    pub doc: String,
}

impl ValueInfo {
    fn encode(&self) -> Msg {
        let mut shape = Msg::default();
        for d in &self.dims {
            let mut dim = Msg::default();
            match d {
                Dim::Fixed(n) => dim.int(1, *n),
                Dim::Named(s) => dim.string(2, s),
            };
            shape.msg(1, &dim);
        }
        let mut tensor = Msg::default();
        tensor.int(1, FLOAT).msg(2, &shape);
        let mut ty = Msg::default();
        ty.msg(1, &tensor);
        let mut m = Msg::default();
        m.string(1, &self.name).msg(2, &ty).string(3, &self.doc);
        m
    }
}

/// The computation (`GraphProto`): nodes in topological order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Graph {
    /// Name.
    pub name: String,
    /// Nodes, each after those whose outputs it reads.
    pub nodes: Vec<Node>,
    /// Constants (weights, shapes).
    pub initializers: Vec<Tensor>,
    /// Inputs.
    pub inputs: Vec<ValueInfo>,
    /// Outputs.
    pub outputs: Vec<ValueInfo>,
    /// What it computes.
    pub doc: String,
}

impl Graph {
    fn encode(&self) -> Msg {
        let mut m = Msg::default();
        for n in &self.nodes {
            m.msg(1, &n.encode());
        }
        m.string(2, &self.name);
        for t in &self.initializers {
            m.msg(5, &t.encode());
        }
        m.string(10, &self.doc);
        for i in &self.inputs {
            m.msg(11, &i.encode());
        }
        for o in &self.outputs {
            m.msg(12, &o.encode());
        }
        m
    }
}

/// A whole model file (`ModelProto`).
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// IR version.
    pub ir_version: i64,
    /// Version of the default (`ai.onnx`) operator set.
    pub opset: i64,
    /// Tool that wrote it.
    pub producer: String,
    /// That tool's version.
    pub producer_version: String,
    /// What it is.
    pub doc: String,
    /// The computation.
    pub graph: Graph,
    /// Named strings (`metadata_props`).
    pub metadata: Vec<(String, String)>,
}

impl Model {
    /// The model file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut opset = Msg::default();
        opset.string(1, "").int(2, self.opset);
        let mut m = Msg::default();
        m.int(1, self.ir_version)
            .string(2, &self.producer)
            .string(3, &self.producer_version)
            .string(6, &self.doc)
            .msg(7, &self.graph.encode())
            .msg(8, &opset);
        for (k, v) in &self.metadata {
            let mut entry = Msg::default();
            entry.string(1, k).string(2, v);
            m.msg(14, &entry);
        }
        m.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field read back: its number and its value.
    #[derive(Debug, PartialEq)]
    enum Field {
        Int(u32, u64),
        Fixed(u32, [u8; 4]),
        Len(u32, Vec<u8>),
    }

    fn read_varint(b: &[u8], at: &mut usize) -> u64 {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let byte = b[*at];
            *at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return v;
            }
            shift += 7;
        }
    }

    /// The fields of one message (a minimal protobuf reader).
    fn fields(b: &[u8]) -> Vec<Field> {
        let mut at = 0;
        let mut out = Vec::new();
        while at < b.len() {
            let key = read_varint(b, &mut at);
            let (field, wire) = ((key >> 3) as u32, (key & 7) as u32);
            out.push(match wire {
                VARINT => Field::Int(field, read_varint(b, &mut at)),
                FIXED32 => {
                    at += 4;
                    Field::Fixed(field, b[at - 4..at].try_into().unwrap())
                }
                LEN => {
                    let n = read_varint(b, &mut at) as usize;
                    at += n;
                    Field::Len(field, b[at - n..at].to_vec())
                }
                w => panic!("wire type {w}"),
            });
        }
        out
    }

    fn len_fields(b: &[u8], number: u32) -> Vec<Vec<u8>> {
        fields(b)
            .into_iter()
            .filter_map(|f| match f {
                Field::Len(n, v) if n == number => Some(v),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn varints_are_little_endian_groups_of_seven_bits() {
        let enc = |v: i64| Msg::default().int(1, v).clone().into_bytes()[1..].to_vec();
        assert_eq!(enc(0), [0]);
        assert_eq!(enc(127), [127]);
        assert_eq!(enc(128), [0x80, 0x01]);
        assert_eq!(enc(300), [0xac, 0x02]);
        // Negative int64: two's complement, ten bytes.
        assert_eq!(
            enc(-1),
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
        // Keys: field 20, varint -> (20 << 3) = 160 = [0xa0, 0x01].
        assert_eq!(
            Msg::default().int(20, 7).clone().into_bytes(),
            [0xa0, 0x01, 7]
        );
    }

    #[test]
    fn an_attribute_is_its_name_value_and_type() {
        let b = Attr::int("axis", 1).encode().into_bytes();
        assert_eq!(b, [0x0a, 4, b'a', b'x', b'i', b's', 0x18, 1, 0xa0, 0x01, 2]);
        let f = Attr::float("epsilon", 1e-5).encode().into_bytes();
        assert!(fields(&f).contains(&Field::Fixed(2, 1e-5f32.to_le_bytes())));
        assert!(fields(&f).contains(&Field::Int(20, 1)));
        let ints = Attr::ints("pads", &[2, -1]).encode().into_bytes();
        let got = fields(&ints);
        assert!(got.contains(&Field::Int(8, 2)));
        assert!(got.contains(&Field::Int(8, (-1i64) as u64)));
        assert!(got.contains(&Field::Int(20, 7)));
    }

    #[test]
    fn a_tensor_carries_dims_type_name_and_raw_little_endian_values() {
        let t = Tensor {
            name: "w".into(),
            dims: vec![2, 1],
            data: Data::F32(vec![1.5, -2.0]),
        };
        let got = fields(&t.encode().into_bytes());
        let mut raw = 1.5f32.to_le_bytes().to_vec();
        raw.extend((-2.0f32).to_le_bytes());
        assert_eq!(
            got,
            [
                Field::Int(1, 2),
                Field::Int(1, 1),
                Field::Int(2, FLOAT as u64),
                Field::Len(8, b"w".to_vec()),
                Field::Len(9, raw),
            ]
        );
        let i = Tensor {
            name: "i".into(),
            dims: vec![1],
            data: Data::I64(vec![-3]),
        };
        let got = fields(&i.encode().into_bytes());
        assert!(got.contains(&Field::Int(2, INT64 as u64)));
        assert!(got.contains(&Field::Len(9, (-3i64).to_le_bytes().to_vec())));
    }

    #[test]
    fn a_model_nests_graph_nodes_inputs_and_opset() {
        let graph = Graph {
            name: "g".into(),
            nodes: vec![Node {
                op: "Relu",
                inputs: vec!["x".into()],
                outputs: vec!["y".into()],
                name: "relu".into(),
                attrs: vec![],
            }],
            initializers: vec![],
            inputs: vec![ValueInfo {
                name: "x".into(),
                dims: vec![Dim::Named("batch"), Dim::Fixed(3)],
                doc: String::new(),
            }],
            outputs: vec![ValueInfo {
                name: "y".into(),
                dims: vec![Dim::Named("batch"), Dim::Fixed(3)],
                doc: String::new(),
            }],
            doc: String::new(),
        };
        let model = Model {
            ir_version: 8,
            opset: 13,
            producer: "ser".into(),
            producer_version: "0".into(),
            doc: String::new(),
            graph,
            metadata: vec![("k".into(), "v".into())],
        };
        let b = model.encode();
        let top = fields(&b);
        assert_eq!(top[0], Field::Int(1, 8));
        let opset = len_fields(&b, 8);
        assert_eq!(
            fields(&opset[0]),
            [Field::Len(1, vec![]), Field::Int(2, 13)]
        );
        let meta = len_fields(&b, 14);
        assert_eq!(
            fields(&meta[0]),
            [Field::Len(1, b"k".to_vec()), Field::Len(2, b"v".to_vec())]
        );
        let g = &len_fields(&b, 7)[0];
        let node = &len_fields(g, 1)[0];
        assert_eq!(len_fields(node, 4), [b"Relu".to_vec()]);
        assert_eq!(len_fields(node, 1), [b"x".to_vec()]);
        assert_eq!(len_fields(node, 2), [b"y".to_vec()]);
        // input x: type.tensor_type{elem_type FLOAT, shape{dim{param batch}, dim{value 3}}}
        let input = &len_fields(g, 11)[0];
        let tensor = &len_fields(&len_fields(input, 2)[0], 1)[0];
        assert_eq!(fields(tensor)[0], Field::Int(1, FLOAT as u64));
        let dims = len_fields(&len_fields(tensor, 2)[0], 1);
        assert_eq!(fields(&dims[0]), [Field::Len(2, b"batch".to_vec())]);
        assert_eq!(fields(&dims[1]), [Field::Int(1, 3)]);
    }
}
