//! The formula language of METADATA.md: field paths (`amount.amount`,
//! `company.name`, `stage.probability`), literals, arithmetic, comparison,
//! `and`/`or`/`not`, and a few functions. Parsed once when a field is defined;
//! type-checked against the catalog; compiled to SQL by `rapport-query`.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// The literal as written, so decimals stay exact.
    Number(String),
    Text(String),
    Bool(bool),
    Null,
    Path(Vec<String>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    Call(String, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
}

impl BinOp {
    pub fn sql(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Eq => "=",
            BinOp::Ne => "<>",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::And => "AND",
            BinOp::Or => "OR",
        }
    }
}

/// What a formula (or part of one) evaluates to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    Number,
    Text,
    Bool,
    Date,
    DateTime,
    /// `null`: fits anywhere.
    Null,
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueType::Number => "number",
            ValueType::Text => "text",
            ValueType::Bool => "boolean",
            ValueType::Date => "date",
            ValueType::DateTime => "date-time",
            ValueType::Null => "null",
        })
    }
}

/// Functions with their arity (min, max).
pub const FUNCTIONS: &[(&str, usize, usize)] = &[
    ("if", 3, 3),
    ("coalesce", 1, 16),
    ("concat", 1, 16),
    ("daysBetween", 2, 2),
    ("today", 0, 0),
    ("round", 1, 2),
    ("abs", 1, 1),
    ("upper", 1, 1),
    ("lower", 1, 1),
];

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(String),
    Text(String),
    Ident(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
    Dot,
}

fn lex(src: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let n: String = chars[start..i].iter().collect();
            if n.matches('.').count() > 1 || n.ends_with('.') {
                return Err(format!("`{n}` is not a number"));
            }
            out.push(Token::Number(n));
        } else if c == '\'' || c == '"' {
            let quote = c;
            i += 1;
            let mut s = String::new();
            loop {
                match chars.get(i) {
                    None => return Err("a text literal is not closed".into()),
                    Some(&ch) if ch == quote && chars.get(i + 1) == Some(&quote) => {
                        s.push(quote);
                        i += 2;
                    }
                    Some(&ch) if ch == quote => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            out.push(Token::Text(s));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else {
            let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
            let op = match two.as_str() {
                "==" => Some("="),
                "!=" | "<>" => Some("<>"),
                "<=" => Some("<="),
                ">=" => Some(">="),
                "&&" => Some("and"),
                "||" => Some("or"),
                _ => None,
            };
            if let Some(op) = op {
                out.push(Token::Op(op));
                i += 2;
                continue;
            }
            out.push(match c {
                '+' => Token::Op("+"),
                '-' => Token::Op("-"),
                '*' => Token::Op("*"),
                '/' => Token::Op("/"),
                '=' => Token::Op("="),
                '<' => Token::Op("<"),
                '>' => Token::Op(">"),
                '!' => Token::Op("not"),
                '(' => Token::LParen,
                ')' => Token::RParen,
                ',' => Token::Comma,
                '.' => Token::Dot,
                other => return Err(format!("unexpected `{other}`")),
            });
            i += 1;
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn is_op(&self, op: &str) -> bool {
        match self.peek() {
            Some(Token::Op(o)) => *o == op,
            Some(Token::Ident(w)) => (op == "and" || op == "or") && w == op,
            _ => false,
        }
    }

    fn binary(&mut self, level: usize) -> Result<Expr, String> {
        const LEVELS: &[&[(&str, BinOp)]] = &[
            &[("or", BinOp::Or)],
            &[("and", BinOp::And)],
            &[
                ("=", BinOp::Eq),
                ("<>", BinOp::Ne),
                ("<=", BinOp::Le),
                (">=", BinOp::Ge),
                ("<", BinOp::Lt),
                (">", BinOp::Gt),
            ],
            &[("+", BinOp::Add), ("-", BinOp::Sub)],
            &[("*", BinOp::Mul), ("/", BinOp::Div)],
        ];
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        'outer: loop {
            for (sym, op) in LEVELS[level] {
                if self.is_op(sym) {
                    self.pos += 1;
                    let right = self.binary(level + 1)?;
                    left = Expr::Binary(*op, Box::new(left), Box::new(right));
                    continue 'outer;
                }
            }
            return Ok(left);
        }
    }

    fn unary(&mut self) -> Result<Expr, String> {
        self.depth += 1;
        if self.depth > 64 {
            return Err("the formula nests too deeply".into());
        }
        let e = if self.is_op("-") {
            self.pos += 1;
            Expr::Neg(Box::new(self.unary()?))
        } else if self.is_op("not") || matches!(self.peek(), Some(Token::Ident(w)) if w == "not") {
            self.pos += 1;
            Expr::Not(Box::new(self.unary()?))
        } else {
            self.primary()?
        };
        self.depth -= 1;
        Ok(e)
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Token::Number(n)) => Ok(Expr::Number(n)),
            Some(Token::Text(s)) => Ok(Expr::Text(s)),
            Some(Token::LParen) => {
                let e = self.binary(0)?;
                match self.next() {
                    Some(Token::RParen) => Ok(e),
                    _ => Err("missing `)`".into()),
                }
            }
            Some(Token::Ident(name)) => match name.as_str() {
                "true" => Ok(Expr::Bool(true)),
                "false" => Ok(Expr::Bool(false)),
                "null" => Ok(Expr::Null),
                _ if self.peek() == Some(&Token::LParen) => {
                    self.pos += 1;
                    let mut args = Vec::new();
                    if self.peek() != Some(&Token::RParen) {
                        loop {
                            args.push(self.binary(0)?);
                            match self.next() {
                                Some(Token::Comma) => continue,
                                Some(Token::RParen) => break,
                                _ => {
                                    return Err(format!(
                                        "missing `)` after the arguments of `{name}`"
                                    ));
                                }
                            }
                        }
                    } else {
                        self.pos += 1;
                    }
                    let Some((_, min, max)) = FUNCTIONS.iter().find(|(f, _, _)| *f == name) else {
                        return Err(format!("unknown function `{name}`"));
                    };
                    if args.len() < *min || args.len() > *max {
                        return Err(format!(
                            "`{name}` takes {min} to {max} arguments, not {}",
                            args.len()
                        ));
                    }
                    Ok(Expr::Call(name, args))
                }
                _ => {
                    let mut path = vec![name];
                    while self.peek() == Some(&Token::Dot) {
                        self.pos += 1;
                        match self.next() {
                            Some(Token::Ident(part)) => path.push(part),
                            _ => return Err("a name must follow `.`".into()),
                        }
                    }
                    if path.len() > 4 {
                        return Err(format!("`{}` is too long a path", path.join(".")));
                    }
                    Ok(Expr::Path(path))
                }
            },
            Some(t) => Err(format!("unexpected {t:?}")),
            None => Err("the formula ends too early".into()),
        }
    }
}

pub fn parse_formula(src: &str) -> Result<Expr, String> {
    if src.len() > 2000 {
        return Err("a formula is at most 2000 characters".into());
    }
    let mut p = Parser {
        tokens: lex(src)?,
        pos: 0,
        depth: 0,
    };
    let e = p.binary(0)?;
    if p.pos < p.tokens.len() {
        return Err(format!(
            "unexpected {:?} after the end of the formula",
            p.tokens[p.pos]
        ));
    }
    Ok(e)
}

/// Names a formula reads, for dependency checks.
pub fn paths(e: &Expr, out: &mut Vec<Vec<String>>) {
    match e {
        Expr::Path(p) => out.push(p.clone()),
        Expr::Not(x) | Expr::Neg(x) => paths(x, out),
        Expr::Binary(_, a, b) => {
            paths(a, out);
            paths(b, out);
        }
        Expr::Call(_, args) => args.iter().for_each(|a| paths(a, out)),
        _ => {}
    }
}

/// Types an expression given the type of each path.
pub fn type_of(
    e: &Expr,
    path_type: &dyn Fn(&[String]) -> Result<ValueType, String>,
) -> Result<ValueType, String> {
    use ValueType as T;
    let same = |a: T, b: T| {
        a == b
            || a == T::Null
            || b == T::Null
            || matches!((a, b), (T::Date, T::DateTime) | (T::DateTime, T::Date))
    };
    Ok(match e {
        Expr::Number(_) => T::Number,
        Expr::Text(_) => T::Text,
        Expr::Bool(_) => T::Bool,
        Expr::Null => T::Null,
        Expr::Path(p) => path_type(p)?,
        Expr::Neg(x) => match type_of(x, path_type)? {
            T::Number | T::Null => T::Number,
            t => return Err(format!("cannot negate a {t}")),
        },
        Expr::Not(x) => match type_of(x, path_type)? {
            T::Bool | T::Null => T::Bool,
            t => return Err(format!("`not` needs a boolean, not a {t}")),
        },
        Expr::Binary(op, a, b) => {
            let (ta, tb) = (type_of(a, path_type)?, type_of(b, path_type)?);
            match op {
                BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div => {
                    if !matches!(ta, T::Number | T::Null) || !matches!(tb, T::Number | T::Null) {
                        return Err(format!(
                            "`{}` needs numbers, not {ta} and {tb} (use concat for text)",
                            op.sql()
                        ));
                    }
                    T::Number
                }
                BinOp::And | BinOp::Or => {
                    if !matches!(ta, T::Bool | T::Null) || !matches!(tb, T::Bool | T::Null) {
                        return Err(format!("`{}` needs booleans, not {ta} and {tb}", op.sql()));
                    }
                    T::Bool
                }
                _ => {
                    if !same(ta, tb) {
                        return Err(format!("cannot compare a {ta} with a {tb}"));
                    }
                    T::Bool
                }
            }
        }
        Expr::Call(name, args) => {
            let types = args
                .iter()
                .map(|a| type_of(a, path_type))
                .collect::<Result<Vec<_>, _>>()?;
            match name.as_str() {
                "if" => {
                    if !matches!(types[0], T::Bool | T::Null) {
                        return Err(format!(
                            "the condition of `if` is a {}, not a boolean",
                            types[0]
                        ));
                    }
                    if !same(types[1], types[2]) {
                        return Err(format!(
                            "the branches of `if` are a {} and a {}",
                            types[1], types[2]
                        ));
                    }
                    if types[1] == T::Null {
                        types[2]
                    } else {
                        types[1]
                    }
                }
                "coalesce" => {
                    let first = types
                        .iter()
                        .copied()
                        .find(|t| *t != T::Null)
                        .unwrap_or(T::Null);
                    if let Some(t) = types.iter().find(|t| !same(**t, first)) {
                        return Err(format!("`coalesce` mixes a {first} and a {t}"));
                    }
                    first
                }
                "concat" => T::Text,
                "daysBetween" => {
                    for t in &types {
                        if !matches!(t, T::Date | T::DateTime | T::Null) {
                            return Err(format!("`daysBetween` takes dates, not a {t}"));
                        }
                    }
                    T::Number
                }
                "today" => T::Date,
                "round" | "abs" => {
                    if let Some(t) = types.iter().find(|t| !matches!(t, T::Number | T::Null)) {
                        return Err(format!("`{name}` takes numbers, not a {t}"));
                    }
                    T::Number
                }
                _ => {
                    if !matches!(types[0], T::Text | T::Null) {
                        return Err(format!("`{name}` takes text, not a {}", types[0]));
                    }
                    T::Text
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_precedence() {
        let e = parse_formula("amount.amount * stage.probability / 100").unwrap();
        let Expr::Binary(BinOp::Div, left, _) = e else {
            panic!("{e:?}")
        };
        assert!(matches!(*left, Expr::Binary(BinOp::Mul, _, _)));
        let e = parse_formula("a > 1 and not (b = 'x''y' or c)").unwrap();
        assert!(matches!(e, Expr::Binary(BinOp::And, _, _)));
        assert!(parse_formula("if(a, 1)").unwrap_err().contains("3 to 3"));
        assert!(
            parse_formula("nope(1)")
                .unwrap_err()
                .contains("unknown function")
        );
        assert!(parse_formula("1 +").is_err());
        assert!(parse_formula("(1").is_err());
        assert!(parse_formula("'open").is_err());
    }

    #[test]
    fn types_are_checked() {
        let paths = |p: &[String]| match p[0].as_str() {
            "n" => Ok(ValueType::Number),
            "t" => Ok(ValueType::Text),
            "d" => Ok(ValueType::Date),
            other => Err(format!("unknown name `{other}`")),
        };
        let ty = |s: &str| type_of(&parse_formula(s).unwrap(), &paths);
        assert_eq!(ty("n * 2 + 1"), Ok(ValueType::Number));
        assert_eq!(ty("if(n > 1, t, null)"), Ok(ValueType::Text));
        assert_eq!(ty("daysBetween(d, today())"), Ok(ValueType::Number));
        assert!(ty("t * 2").unwrap_err().contains("needs numbers"));
        assert!(ty("n = t").unwrap_err().contains("compare"));
        assert!(ty("x + 1").unwrap_err().contains("unknown name `x`"));
    }
}
