//! The expectation language: `<op> <operand>`, such as `"<= 0"`, `"< 300"`,
//! `"== 'completed'"` or `"<= 1.2 * baseline"`.
//!
//! The operator is one of `<`, `<=`, `>`, `>=`, `==`, `!=`. The operand is a quoted word
//! (`'completed'` or `"completed"`, compared with `==` / `!=` only) or arithmetic over numbers
//! and `baseline` (the same summary path's value in the `[expect]` table's baseline scenario,
//! run on the same seed) with `+ - * /`, unary minus and parentheses, the usual precedence.
//! Nothing else: an expectation is a threshold a reviewer reads at a glance, not a program.

use std::fmt;

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }

    /// `a op b` on numbers.
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Eq => a == b,
            Op::Ne => a != b,
        }
    }
}

/// Arithmetic over numbers and `baseline`.
#[derive(Clone, Debug, PartialEq)]
pub enum Arith {
    /// A number.
    Num(f64),
    /// The baseline scenario's value at the same path.
    Baseline,
    /// `-x`.
    Neg(Box<Arith>),
    /// `a <op> b` with op one of `+ - * /`.
    Bin(Box<Arith>, char, Box<Arith>),
}

impl Arith {
    /// Whether `baseline` appears.
    pub fn uses_baseline(&self) -> bool {
        match self {
            Arith::Num(_) => false,
            Arith::Baseline => true,
            Arith::Neg(a) => a.uses_baseline(),
            Arith::Bin(a, _, b) => a.uses_baseline() || b.uses_baseline(),
        }
    }

    /// The value, given the baseline's (`None`: the baseline has no data, so neither does
    /// this).
    pub fn eval(&self, baseline: Option<f64>) -> Option<f64> {
        Some(match self {
            Arith::Num(n) => *n,
            Arith::Baseline => baseline?,
            Arith::Neg(a) => -a.eval(baseline)?,
            Arith::Bin(a, op, b) => {
                let (a, b) = (a.eval(baseline)?, b.eval(baseline)?);
                match op {
                    '+' => a + b,
                    '-' => a - b,
                    '*' => a * b,
                    _ => a / b,
                }
            }
        })
    }
}

/// The right-hand side.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    /// Arithmetic (compared with the metric as numbers).
    Number(Arith),
    /// A word (`'completed'`), compared with a text metric.
    Word(String),
}

/// A parsed expectation expression.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    /// The comparison.
    pub op: Op,
    /// What the metric is compared with.
    pub rhs: Operand,
}

/// Why an expression does not parse: where (a character offset into the expression), how
/// many characters to underline, what is wrong and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExprError {
    /// Character offset of the problem in the expression.
    pub at: usize,
    /// Characters to underline (at least 1).
    pub width: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl fmt::Display for ExprError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.message, self.at + 1)
    }
}

const FORMS: &str = "write a comparison and a threshold: \"<= 0\", \"< 300\", \"== 'completed'\" or \"<= 1.2 * baseline\"";

struct Parser<'s> {
    chars: Vec<char>,
    pos: usize,
    src: &'s str,
}

fn err(at: usize, width: usize, message: impl Into<String>, help: impl Into<String>) -> ExprError {
    ExprError {
        at,
        width: width.max(1),
        message: message.into(),
        help: help.into(),
    }
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.skip_ws();
        self.chars.get(self.pos).copied()
    }

    fn op(&mut self) -> Result<Op, ExprError> {
        self.skip_ws();
        let start = self.pos;
        let c0 = self.chars.get(self.pos).copied();
        let c1 = self.chars.get(self.pos + 1).copied();
        let (op, len) = match (c0, c1) {
            (Some('<'), Some('=')) => (Op::Le, 2),
            (Some('>'), Some('=')) => (Op::Ge, 2),
            (Some('='), Some('=')) => (Op::Eq, 2),
            (Some('!'), Some('=')) => (Op::Ne, 2),
            (Some('<'), _) => (Op::Lt, 1),
            (Some('>'), _) => (Op::Gt, 1),
            (Some('='), _) => {
                return Err(err(
                    start,
                    1,
                    "`=` is not a comparison",
                    "write `==` to compare for equality, e.g. \"== 'completed'\"",
                ))
            }
            (None, _) => {
                return Err(err(start, 1, "the expectation is empty", FORMS));
            }
            _ => {
                return Err(err(
                    start,
                    1,
                    format!(
                        "an expectation starts with a comparison (<, <=, >, >=, ==, !=), not `{}`",
                        c0.unwrap_or(' ')
                    ),
                    FORMS,
                ))
            }
        };
        self.pos += len;
        Ok(op)
    }

    fn expr(&mut self) -> Result<Arith, ExprError> {
        let mut left = self.term()?;
        while let Some(c @ ('+' | '-')) = self.peek() {
            self.pos += 1;
            let right = self.term()?;
            left = Arith::Bin(Box::new(left), c, Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Arith, ExprError> {
        let mut left = self.factor()?;
        while let Some(c @ ('*' | '/')) = self.peek() {
            self.pos += 1;
            let right = self.factor()?;
            left = Arith::Bin(Box::new(left), c, Box::new(right));
        }
        Ok(left)
    }

    fn factor(&mut self) -> Result<Arith, ExprError> {
        let start = {
            self.skip_ws();
            self.pos
        };
        match self.peek() {
            Some('-') => {
                self.pos += 1;
                Ok(Arith::Neg(Box::new(self.factor()?)))
            }
            Some('(') => {
                self.pos += 1;
                let inner = self.expr()?;
                if self.peek() != Some(')') {
                    return Err(err(
                        self.pos,
                        1,
                        "this parenthesis is not closed",
                        "add `)` after the parenthesised part",
                    ));
                }
                self.pos += 1;
                Ok(inner)
            }
            Some(c) if c.is_ascii_digit() || c == '.' => {
                let mut end = self.pos;
                while self.chars.get(end).is_some_and(|c| {
                    c.is_ascii_digit()
                        || matches!(c, '.' | 'e' | 'E' | '_')
                        || (matches!(c, '+' | '-')
                            && matches!(self.chars.get(end.wrapping_sub(1)), Some('e' | 'E')))
                }) {
                    end += 1;
                }
                let text: String = self.chars[start..end]
                    .iter()
                    .filter(|c| **c != '_')
                    .collect();
                self.pos = end;
                match text.parse::<f64>() {
                    Ok(n) if n.is_finite() => Ok(Arith::Num(n)),
                    _ => Err(err(
                        start,
                        end - start,
                        format!("`{text}` is not a number"),
                        "write a number such as 300, 0.5 or 1e3",
                    )),
                }
            }
            Some(c) if c.is_alphabetic() => {
                let mut end = self.pos;
                while self
                    .chars
                    .get(end)
                    .is_some_and(|c| c.is_alphanumeric() || *c == '_')
                {
                    end += 1;
                }
                let word: String = self.chars[start..end].iter().collect();
                self.pos = end;
                if word == "baseline" {
                    Ok(Arith::Baseline)
                } else {
                    Err(err(
                        start,
                        end - start,
                        format!("unknown name `{word}`"),
                        format!("the only name is `baseline`; to compare with a word, quote it: \"== '{word}'\""),
                    ))
                }
            }
            None => Err(err(
                self.pos,
                1,
                "a threshold is missing",
                "give a number after the comparison, e.g. \"<= 0\"",
            )),
            Some(c) => Err(err(
                start,
                1,
                format!("`{c}` cannot start a threshold"),
                "write a number, `baseline`, or arithmetic over them, e.g. \"<= 1.2 * baseline\"",
            )),
        }
    }

    fn word(&mut self, quote: char) -> Result<String, ExprError> {
        let start = self.pos;
        self.pos += 1;
        let mut w = String::new();
        loop {
            match self.chars.get(self.pos) {
                None => {
                    return Err(err(
                        start,
                        self.chars.len() - start,
                        "this quoted word is not closed",
                        format!("end it with {quote}"),
                    ))
                }
                Some(c) if *c == quote => {
                    self.pos += 1;
                    return Ok(w);
                }
                Some(c) => {
                    w.push(*c);
                    self.pos += 1;
                }
            }
        }
    }
}

/// Parses an expectation expression.
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    let mut p = Parser {
        chars: src.chars().collect(),
        pos: 0,
        src,
    };
    let op = p.op()?;
    let rhs = match p.peek() {
        Some(q @ ('\'' | '"')) => {
            let at = p.pos;
            let w = p.word(q)?;
            if !matches!(op, Op::Eq | Op::Ne) {
                return Err(err(
                    at,
                    w.chars().count() + 2,
                    format!(
                        "a word can only be compared with == or !=, not {}",
                        op.as_str()
                    ),
                    format!("write \"== '{w}'\" or \"!= '{w}'\""),
                ));
            }
            Operand::Word(w)
        }
        _ => Operand::Number(p.expr()?),
    };
    if let Some(c) = p.peek() {
        let rest = p.chars.len() - p.pos;
        return Err(err(
            p.pos,
            rest,
            format!("unexpected `{c}` after the threshold"),
            if matches!(c, '<' | '>' | '=' | '!') {
                "one comparison per expectation: keep the bound that matters (a path takes one expectation)".to_string()
            } else if c.is_alphabetic() {
                "thresholds take no units: the path names its unit (latency_ms is in milliseconds, a path ending in _s in seconds), so write \"< 300\"".to_string()
            } else {
                format!(
                    "{FORMS}; `{}` is complete without what follows",
                    p.src[..p
                        .src
                        .char_indices()
                        .nth(p.pos)
                        .map_or(p.src.len(), |(i, _)| i)]
                        .trim()
                )
            },
        ));
    }
    Ok(Expr { op, rhs })
}

impl fmt::Display for Arith {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arith::Num(n) => write!(f, "{n}"),
            Arith::Baseline => write!(f, "baseline"),
            Arith::Neg(a) => write!(f, "-({a})"),
            Arith::Bin(a, op, b) => write!(f, "({a} {op} {b})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(s: &str, baseline: Option<f64>) -> Option<f64> {
        match parse(s).unwrap().rhs {
            Operand::Number(a) => a.eval(baseline),
            Operand::Word(w) => panic!("word {w}"),
        }
    }

    #[test]
    fn comparisons_and_thresholds_parse() {
        assert_eq!(parse("<= 0").unwrap().op, Op::Le);
        assert_eq!(parse("<300").unwrap().op, Op::Lt);
        assert_eq!(parse(" >= 1e3 ").unwrap().op, Op::Ge);
        assert_eq!(parse("!= 2").unwrap().op, Op::Ne);
        assert_eq!(num("< 300", None), Some(300.0));
        assert_eq!(num("< 1_000", None), Some(1000.0));
        assert_eq!(num("<= 2.5e-1", None), Some(0.25));
        assert_eq!(
            parse("== 'completed'").unwrap().rhs,
            Operand::Word("completed".into())
        );
        assert_eq!(
            parse("!= \"aborted\"").unwrap().rhs,
            Operand::Word("aborted".into())
        );
    }

    #[test]
    fn arithmetic_has_the_usual_precedence_and_baseline() {
        assert_eq!(num("<= 1 + 2 * 3", None), Some(7.0));
        assert_eq!(num("<= (1 + 2) * 3", None), Some(9.0));
        assert_eq!(num("<= 10 - 4 - 3", None), Some(3.0));
        assert_eq!(num("<= -2 * -3", None), Some(6.0));
        assert_eq!(num("<= 1.2 * baseline", Some(10.0)), Some(12.0));
        assert_eq!(num("<= baseline + 5", None), None);
        assert!(match parse("<= baseline / 2").unwrap().rhs {
            Operand::Number(a) => a.uses_baseline(),
            _ => false,
        });
    }

    #[test]
    fn errors_say_where_what_and_how() {
        let e = parse("= 0").unwrap_err();
        assert_eq!((e.at, e.message.as_str()), (0, "`=` is not a comparison"));
        let e = parse("0").unwrap_err();
        assert!(e
            .message
            .starts_with("an expectation starts with a comparison"));
        let e = parse("<= ").unwrap_err();
        assert_eq!(e.message, "a threshold is missing");
        let e = parse("<= 1.2 * basline").unwrap_err();
        assert_eq!((e.at, e.width), (9, 7));
        assert_eq!(e.message, "unknown name `basline`");
        let e = parse("< 'completed'").unwrap_err();
        assert!(e.message.contains("only be compared with == or !="));
        let e = parse("<= 300ms").unwrap_err();
        assert_eq!(e.at, 6, "{e:?}");
        assert!(e.message.contains("unknown name `ms`") || e.message.contains("after"));
        let e = parse("<= (1 + 2").unwrap_err();
        assert!(e.message.contains("not closed"));
        let e = parse("== 'completed").unwrap_err();
        assert!(e.message.contains("not closed"));
        let e = parse("<= 1..2").unwrap_err();
        assert_eq!(e.message, "`1..2` is not a number");
        let e = parse("").unwrap_err();
        assert_eq!(e.message, "the expectation is empty");
    }

    #[test]
    fn operators_hold_as_written() {
        assert!(Op::Le.holds(1.0, 1.0));
        assert!(!Op::Lt.holds(1.0, 1.0));
        assert!(Op::Ge.holds(2.0, 1.0));
        assert!(!Op::Gt.holds(1.0, 2.0));
        assert!(Op::Eq.holds(0.0, 0.0));
        assert!(Op::Ne.holds(0.0, 1.0));
    }
}
