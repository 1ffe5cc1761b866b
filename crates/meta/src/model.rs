use serde_json::Value;

use crate::formula::Expr;

/// Names every object carries; fields may not use them.
pub const SYSTEM_FIELDS: &[&str] = &[
    "id",
    "createdAt",
    "updatedAt",
    "deletedAt",
    "version",
    "ownerId",
    "owner",
    "createdBy",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    Text,
    LongText,
    RichText,
    Email,
    Phone,
    Url,
    Integer,
    Number,
    Percent,
    Decimal,
    Currency,
    Boolean,
    Date,
    DateTime,
    Select,
    MultiSelect,
    Rating,
    Json,
    Address,
    FullName,
    Relation,
    AutoNumber,
    Formula,
    Rollup,
    EncryptedText,
}

const FIELD_TYPE_NAMES: &[(FieldType, &str)] = &[
    (FieldType::Text, "text"),
    (FieldType::LongText, "longText"),
    (FieldType::RichText, "richText"),
    (FieldType::Email, "email"),
    (FieldType::Phone, "phone"),
    (FieldType::Url, "url"),
    (FieldType::Integer, "integer"),
    (FieldType::Number, "number"),
    (FieldType::Percent, "percent"),
    (FieldType::Decimal, "decimal"),
    (FieldType::Currency, "currency"),
    (FieldType::Boolean, "boolean"),
    (FieldType::Date, "date"),
    (FieldType::DateTime, "dateTime"),
    (FieldType::Select, "select"),
    (FieldType::MultiSelect, "multiSelect"),
    (FieldType::Rating, "rating"),
    (FieldType::Json, "json"),
    (FieldType::Address, "address"),
    (FieldType::FullName, "fullName"),
    (FieldType::Relation, "relation"),
    (FieldType::AutoNumber, "autoNumber"),
    (FieldType::Formula, "formula"),
    (FieldType::Rollup, "rollup"),
    (FieldType::EncryptedText, "encryptedText"),
];

impl FieldType {
    pub fn as_str(self) -> &'static str {
        FIELD_TYPE_NAMES
            .iter()
            .find(|(t, _)| *t == self)
            .map(|(_, n)| *n)
            .unwrap_or("text")
    }

    pub fn parse(name: &str) -> Option<FieldType> {
        FIELD_TYPE_NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(t, _)| *t)
    }

    pub fn is_textual(self) -> bool {
        matches!(
            self,
            FieldType::Text
                | FieldType::LongText
                | FieldType::RichText
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
        )
    }

    /// Numeric types that `sum`/`avg` aggregate over.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldType::Integer
                | FieldType::Number
                | FieldType::Percent
                | FieldType::Decimal
                | FieldType::Rating
        )
    }

    pub fn composite(self) -> Option<Composite> {
        match self {
            FieldType::Currency => Some(Composite::Currency),
            FieldType::Address => Some(Composite::Address),
            FieldType::FullName => Some(Composite::FullName),
            _ => None,
        }
    }
}

/// Composite types expand to several columns, one per sub-field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Composite {
    Currency,
    Address,
    FullName,
}

impl Composite {
    /// Sub-fields with the scalar type each is stored as.
    pub fn parts(self) -> &'static [(&'static str, FieldType)] {
        match self {
            Composite::Currency => &[
                ("amount", FieldType::Decimal),
                ("currencyCode", FieldType::Text),
            ],
            Composite::Address => &[
                ("street1", FieldType::Text),
                ("street2", FieldType::Text),
                ("city", FieldType::Text),
                ("state", FieldType::Text),
                ("postcode", FieldType::Text),
                ("country", FieldType::Text),
                ("latitude", FieldType::Number),
                ("longitude", FieldType::Number),
            ],
            Composite::FullName => &[
                ("firstName", FieldType::Text),
                ("lastName", FieldType::Text),
            ],
        }
    }

    pub fn type_name(self) -> &'static str {
        match self {
            Composite::Currency => "Currency",
            Composite::Address => "Address",
            Composite::FullName => "FullName",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationKind {
    ManyToOne,
    OneToMany,
    ManyToMany,
    Polymorphic,
}

impl RelationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RelationKind::ManyToOne => "manyToOne",
            RelationKind::OneToMany => "oneToMany",
            RelationKind::ManyToMany => "manyToMany",
            RelationKind::Polymorphic => "polymorphic",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnDelete {
    #[default]
    SetNull,
    Cascade,
    Restrict,
}

impl OnDelete {
    pub fn as_str(self) -> &'static str {
        match self {
            OnDelete::SetNull => "setNull",
            OnDelete::Cascade => "cascade",
            OnDelete::Restrict => "restrict",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    pub kind: RelationKind,
    /// The other object; for a polymorphic relation the owning side lists `targets`.
    pub target: String,
    pub targets: Vec<String>,
    pub inverse: Option<String>,
    pub on_delete: OnDelete,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SelectOption {
    pub value: String,
    pub label: String,
    /// The option as written, extra keys (`probability`, `color`) included.
    pub raw: Value,
}

/// An aggregate over records: a rollup's, and the API's `…Aggregate` and
/// `…GroupBy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AggregateFn {
    /// How many records (no field).
    Count,
    /// How many distinct values of a field.
    CountDistinct,
    Sum,
    Avg,
    Min,
    Max,
}

impl AggregateFn {
    pub const ALL: [AggregateFn; 6] = [
        AggregateFn::Count,
        AggregateFn::CountDistinct,
        AggregateFn::Sum,
        AggregateFn::Avg,
        AggregateFn::Min,
        AggregateFn::Max,
    ];

    /// As documents and the API name it.
    pub fn name(self) -> &'static str {
        match self {
            AggregateFn::Count => "count",
            AggregateFn::CountDistinct => "countDistinct",
            AggregateFn::Sum => "sum",
            AggregateFn::Avg => "avg",
            AggregateFn::Min => "min",
            AggregateFn::Max => "max",
        }
    }

    pub fn parse(name: &str) -> Option<AggregateFn> {
        AggregateFn::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl std::fmt::Display for AggregateFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How a computed field gets its value.
#[derive(Debug, Clone, PartialEq)]
pub enum Computed {
    /// Evaluated in SQL on every read, so it is always current and can be
    /// filtered and sorted.
    Formula { expression: Expr, result: FieldType },
    /// An aggregate over a list relation, also evaluated in SQL on read.
    Rollup {
        relation: String,
        function: AggregateFn,
        field: Option<String>,
        filter: Option<Value>,
        result: FieldType,
    },
    /// Stored text, assigned once from a per-field counter on create.
    AutoNumber { prefix: String, digits: u32 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldDef {
    pub name: String,
    pub label: String,
    pub description: Option<String>,
    pub field_type: FieldType,
    pub required: bool,
    pub unique: bool,
    pub indexed: bool,
    pub searchable: bool,
    pub masked: bool,
    /// Offered in filters and orderings. A role that sees a masked field only
    /// masked loses this, so values cannot be guessed through filters.
    pub filterable: bool,
    pub read_only: bool,
    pub is_system: bool,
    pub default: Option<Value>,
    pub options: Vec<SelectOption>,
    pub rating_max: i64,
    pub relation: Option<Relation>,
    /// Generated inverse sides (`oneToMany` of a `manyToOne`) have no document
    /// property and no column of their own.
    pub generated: bool,
    /// The property schema as the document wrote it.
    pub property: Value,
    pub computed: Option<Computed>,
}

impl FieldDef {
    /// A field with a column (or columns) in its object's table.
    pub fn is_stored(&self) -> bool {
        if matches!(
            self.computed,
            Some(Computed::Formula { .. } | Computed::Rollup { .. })
        ) {
            return false;
        }
        match &self.relation {
            Some(r) => matches!(r.kind, RelationKind::ManyToOne | RelationKind::Polymorphic),
            None => true,
        }
    }

    /// The type of the values it shows: a formula's or rollup's result type,
    /// text for an auto-number, the field type otherwise.
    pub fn value_type(&self) -> FieldType {
        match &self.computed {
            Some(Computed::Formula { result, .. } | Computed::Rollup { result, .. }) => *result,
            Some(Computed::AutoNumber { .. }) => FieldType::Text,
            None => self.field_type,
        }
    }

    /// Evaluated in SQL rather than read from a column.
    pub fn is_virtual(&self) -> bool {
        matches!(
            self.computed,
            Some(Computed::Formula { .. } | Computed::Rollup { .. })
        )
    }

    pub fn relation_kind(&self) -> Option<RelationKind> {
        self.relation.as_ref().map(|r| r.kind)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ObjectDef {
    pub name: String,
    pub plural_name: String,
    pub label: String,
    pub label_plural: String,
    pub description: Option<String>,
    pub module: Option<String>,
    pub is_system: bool,
    pub title_field: Option<String>,
    pub search_fields: Vec<String>,
    pub fields: Vec<FieldDef>,
    /// `x-rapport-object` keys the platform keeps but does not interpret yet.
    pub extra: serde_json::Map<String, Value>,
}

impl ObjectDef {
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn stored_fields(&self) -> impl Iterator<Item = &FieldDef> {
        self.fields.iter().filter(|f| f.is_stored())
    }

    /// PascalCase GraphQL type name.
    pub fn type_name(&self) -> String {
        pascal(&self.name)
    }
}

pub(crate) fn pascal(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// A label read as words from a name: `annualRevenue` → `Annual revenue`,
/// `supportCases` → `Support cases`, `CLOSED_WON` → `Closed won`, `mrr2` →
/// `Mrr 2`. Runs of capitals stay one word (`apiURL` → `Api url`).
pub(crate) fn words(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev: Option<char> = None;
    for c in name.chars() {
        let boundary = match prev {
            None => false,
            Some(p) => {
                c == '_'
                    || (c.is_ascii_uppercase() && p.is_ascii_lowercase())
                    || (c.is_ascii_digit() && !p.is_ascii_digit() && p != '_')
                    || (c.is_ascii_alphabetic() && p.is_ascii_digit())
            }
        };
        if c == '_' {
            if !out.ends_with(' ') && !out.is_empty() {
                out.push(' ');
            }
        } else {
            if boundary && !out.ends_with(' ') {
                out.push(' ');
            }
            out.extend(c.to_lowercase());
        }
        prev = Some(c);
    }
    let out = out.trim().to_string();
    let mut chars = out.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => out,
    }
}

#[cfg(test)]
mod label_tests {
    use super::words;

    #[test]
    fn names_read_as_words() {
        assert_eq!(words("annualRevenue"), "Annual revenue");
        assert_eq!(words("supportCases"), "Support cases");
        assert_eq!(words("CLOSED_WON"), "Closed won");
        assert_eq!(words("NEW"), "New");
        assert_eq!(words("mrr2"), "Mrr 2");
        assert_eq!(words("apiURL"), "Api url");
        assert_eq!(words("x"), "X");
    }
}
