//! bash's arithmetic expansion, `$(( … ))`: 64-bit integers (wrapping, as bash's do), the
//! C operators scripts count and test with (`+ - * / % **`, comparisons, `&& || !`, bit
//! operators, parentheses), names read as variables (unset or not a number: 0), numbers in
//! decimal, octal (`010`) and hex (`0x10`). Assignment operators are not taken. Errors are
//! worded as bash 5.2 words them.

/// Why an expression has no value: bash's message (without its `EXPR: ` prefix).
#[derive(Debug, PartialEq, Eq)]
pub(super) struct ArithError(pub String);

/// The value of `expr`, variables read through `var`.
pub(super) fn eval(expr: &str, var: &dyn Fn(&str) -> Option<String>) -> Result<i64, ArithError> {
    let mut p = Parser {
        b: expr.as_bytes(),
        at: 0,
        var,
        depth: 0,
    };
    p.skip();
    if p.at == p.b.len() {
        return Ok(0);
    }
    let v = p.binary(0)?;
    p.skip();
    if p.at < p.b.len() {
        return Err(p.error("syntax error in expression"));
    }
    Ok(v)
}

struct Parser<'a> {
    b: &'a [u8],
    at: usize,
    var: &'a dyn Fn(&str) -> Option<String>,
    depth: u32,
}

/// Binary operators by precedence, lowest first (C's order, as bash has it).
const LEVELS: &[&[&str]] = &[
    &["||"],
    &["&&"],
    &["|"],
    &["^"],
    &["&"],
    &["==", "!="],
    &["<=", ">=", "<", ">"],
    &["<<", ">>"],
    &["+", "-"],
    &["*", "/", "%"],
];

impl Parser<'_> {
    fn skip(&mut self) {
        while self.b.get(self.at).is_some_and(u8::is_ascii_whitespace) {
            self.at += 1;
        }
    }

    fn rest(&self) -> String {
        String::from_utf8_lossy(&self.b[self.at.min(self.b.len())..])
            .trim()
            .to_string()
    }

    fn error(&self, what: &str) -> ArithError {
        ArithError(format!("{what} (error token is \"{}\")", self.rest()))
    }

    fn op(&mut self, ops: &[&str]) -> Option<&'static str> {
        self.skip();
        let rest = &self.b[self.at..];
        // `**` belongs to the power level, `&&`/`||` are not `&`/`|`, `<<` is no `<`.
        let found = LEVELS
            .iter()
            .flat_map(|l| l.iter())
            .chain(&["**"])
            .filter(|o| rest.starts_with(o.as_bytes()))
            .max_by_key(|o| o.len())?;
        if !ops.contains(found) {
            return None;
        }
        self.at += found.len();
        Some(found)
    }

    fn binary(&mut self, level: usize) -> Result<i64, ArithError> {
        let Some(ops) = LEVELS.get(level) else {
            return self.power();
        };
        let mut left = self.binary(level + 1)?;
        while let Some(op) = self.op(ops) {
            let right = self.binary(level + 1)?;
            left = match op {
                "||" => i64::from(left != 0 || right != 0),
                "&&" => i64::from(left != 0 && right != 0),
                "|" => left | right,
                "^" => left ^ right,
                "&" => left & right,
                "==" => i64::from(left == right),
                "!=" => i64::from(left != right),
                "<=" => i64::from(left <= right),
                ">=" => i64::from(left >= right),
                "<" => i64::from(left < right),
                ">" => i64::from(left > right),
                "<<" => left.wrapping_shl(right as u32),
                ">>" => left.wrapping_shr(right as u32),
                "+" => left.wrapping_add(right),
                "-" => left.wrapping_sub(right),
                "*" => left.wrapping_mul(right),
                _ if right == 0 => {
                    // bash names the divisor as the error token.
                    self.at -= 1;
                    while self.at > 0 && !matches!(self.b[self.at], b'/' | b'%') {
                        self.at -= 1;
                    }
                    self.at += 1;
                    return Err(self.error("division by 0"));
                }
                "/" => left.wrapping_div(right),
                _ => left.wrapping_rem(right),
            };
        }
        Ok(left)
    }

    fn power(&mut self) -> Result<i64, ArithError> {
        let base = self.unary()?;
        if self.op(&["**"]).is_some() {
            // `**` recurses to its right: counted with the parentheses and signs.
            self.depth += 1;
            if self.depth > 64 {
                return Err(self.error("expression recursion level exceeded"));
            }
            let exp = self.power()?;
            self.depth -= 1;
            if exp < 0 {
                return Err(self.error("exponent less than 0"));
            }
            return Ok(base.wrapping_pow(exp.min(u32::MAX as i64) as u32));
        }
        Ok(base)
    }

    fn unary(&mut self) -> Result<i64, ArithError> {
        self.skip();
        self.depth += 1;
        if self.depth > 64 {
            return Err(self.error("expression recursion level exceeded"));
        }
        let v = match self.b.get(self.at) {
            Some(b'-') => {
                self.at += 1;
                self.unary().map(i64::wrapping_neg)
            }
            Some(b'+') => {
                self.at += 1;
                self.unary()
            }
            Some(b'!') => {
                self.at += 1;
                self.unary().map(|v| i64::from(v == 0))
            }
            Some(b'~') => {
                self.at += 1;
                self.unary().map(|v| !v)
            }
            Some(b'(') => {
                self.at += 1;
                let v = self.binary(0)?;
                self.skip();
                if self.b.get(self.at) != Some(&b')') {
                    return Err(self.error("missing `)'"));
                }
                self.at += 1;
                Ok(v)
            }
            _ => self.operand(),
        };
        self.depth -= 1;
        v
    }

    fn operand(&mut self) -> Result<i64, ArithError> {
        self.skip();
        let start = self.at;
        if self.b.get(self.at) == Some(&b'$') {
            self.at += 1;
        }
        while self
            .b
            .get(self.at)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.at += 1;
        }
        let word = std::str::from_utf8(&self.b[start..self.at]).unwrap_or_default();
        let word = word.trim_start_matches('$');
        if word.is_empty() {
            // bash names the token before the missing operand.
            self.at = self.b[..start]
                .iter()
                .rposition(|c| !c.is_ascii_whitespace())
                .unwrap_or(start);
            return Err(self.error("syntax error: operand expected"));
        }
        if word.as_bytes()[0].is_ascii_digit() {
            return number(word).ok_or_else(|| {
                self.at = start;
                self.error("value too great for base")
            });
        }
        // A variable: its value, itself read as a number (not as an expression here).
        Ok((self.var)(word)
            .and_then(|v| {
                let v = v.trim();
                v.parse::<i64>().ok().or_else(|| number(v))
            })
            .unwrap_or(0))
    }
}

fn number(w: &str) -> Option<i64> {
    if let Some(h) = w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok().map(|v| v as i64)
    } else if w.len() > 1 && w.starts_with('0') {
        u64::from_str_radix(&w[1..], 8).ok().map(|v| v as i64)
    } else {
        w.parse::<u64>().ok().map(|v| v as i64)
    }
}
