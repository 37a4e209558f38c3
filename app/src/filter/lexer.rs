//! Splits filter text into tokens, lazily, so the first error in reading order is the one
//! reported, and reads literal values exactly (numbers, durations, ISO-8601 times). It knows
//! spellings only; which field a key names and which values fit it is the parser's business.

use super::ast::{is_key_char, is_key_start, Value};
use super::ParseError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: Tok,
    /// Byte offsets into the input.
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A key: dot-separated segments, each bare or backticked. `` tags.`a.b` `` is two segments.
    Key(Vec<Segment>),
    Keyword(Keyword),
    /// A quoted string, escapes resolved.
    Str(String),
    Number(Number),
    LParen,
    RParen,
    Comma,
    Cmp(CmpOp),
    Eof,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    pub text: String,
    pub quoted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keyword {
    And,
    Or,
    Not,
    In,
    Like,
    ILike,
    RLike,
    Is,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A number as written: `text` is the numeric part (sign, digits, fraction, exponent), `unit`
/// the letters glued to it (`ms` in `200ms`), empty when there are none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Number {
    pub text: String,
    pub unit: String,
    /// Has a fraction or an exponent.
    pub float: bool,
}

pub(crate) struct Lexer<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Self {
        Lexer { src, pos: 0 }
    }

    fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_second(&self) -> Option<char> {
        let mut it = self.src[self.pos..].chars();
        it.next();
        it.next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek_char() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> ParseError {
        ParseError::new(self.src, offset, message)
    }

    pub fn next_token(&mut self) -> Result<Token, ParseError> {
        while self.peek_char().is_some_and(char::is_whitespace) {
            self.bump();
        }
        let start = self.pos;
        let Some(c) = self.peek_char() else {
            return Ok(Token {
                kind: Tok::Eof,
                start,
                end: start,
            });
        };
        let kind = match c {
            '(' | ')' | ',' => {
                self.bump();
                match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    _ => Tok::Comma,
                }
            }
            '=' => {
                self.bump();
                self.eat('='); // `==`, for people who write Python
                Tok::Cmp(CmpOp::Eq)
            }
            '!' => {
                self.bump();
                if !self.eat('=') {
                    return Err(self.error(start, "unexpected character '!'; did you mean '!='?"));
                }
                Tok::Cmp(CmpOp::Ne)
            }
            '<' => {
                self.bump();
                if self.eat('=') {
                    Tok::Cmp(CmpOp::Le)
                } else if self.eat('>') {
                    Tok::Cmp(CmpOp::Ne)
                } else {
                    Tok::Cmp(CmpOp::Lt)
                }
            }
            '>' => {
                self.bump();
                if self.eat('=') {
                    Tok::Cmp(CmpOp::Ge)
                } else {
                    Tok::Cmp(CmpOp::Gt)
                }
            }
            '\'' | '"' => Tok::Str(self.string(c)?),
            '0'..='9' => Tok::Number(self.number()?),
            '-' if self.peek_second().is_some_and(|d| d.is_ascii_digit()) => {
                Tok::Number(self.number()?)
            }
            '`' => self.key()?,
            c if is_key_start(c) => self.key()?,
            c => {
                return Err(self.error(start, format!("unexpected character {}", quote_char(c))));
            }
        };
        Ok(Token {
            kind,
            start,
            end: self.pos,
        })
    }

    /// A quoted string. Inside it, `\'`, `\"` and `\\` are escapes and a doubled quote is one
    /// quote (SQL style). Any other backslash is kept as written, so LIKE escapes such as `\%`
    /// reach the server intact.
    fn string(&mut self, quote: char) -> Result<String, ParseError> {
        let start = self.pos;
        self.bump();
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error(start, "unterminated string")),
                Some('\\') => match self.peek_char() {
                    Some(e @ ('\'' | '"' | '\\')) => {
                        self.bump();
                        out.push(e);
                    }
                    _ => out.push('\\'),
                },
                Some(c) if c == quote => {
                    if self.eat(quote) {
                        out.push(quote);
                    } else {
                        return Ok(out);
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    /// `-? digits ('.' digits)? ([eE] [+-]? digits)? unit?` where unit is letters.
    fn number(&mut self) -> Result<Number, ParseError> {
        let start = self.pos;
        self.eat('-');
        let digits = |lx: &mut Self| {
            let from = lx.pos;
            while lx.peek_char().is_some_and(|c| c.is_ascii_digit()) {
                lx.bump();
            }
            lx.pos > from
        };
        digits(self);
        let mut float = false;
        if self.peek_char() == Some('.') && self.peek_second().is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            digits(self);
            float = true;
        }
        if matches!(self.peek_char(), Some('e' | 'E')) {
            let save = self.pos;
            self.bump();
            if matches!(self.peek_char(), Some('+' | '-')) {
                self.bump();
            }
            if digits(self) {
                float = true;
            } else {
                self.pos = save; // not an exponent: `5e` is the number 5 with unit `e`
            }
        }
        let text = self.src[start..self.pos].to_string();
        let unit_start = self.pos;
        while self.peek_char().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.bump();
        }
        let unit = self.src[unit_start..self.pos].to_string();
        if self.peek_char().is_some_and(|c| is_key_char(c) || c == '.') {
            while self.peek_char().is_some_and(|c| is_key_char(c) || c == '.') {
                self.bump();
            }
            let shown = shorten(&self.src[start..self.pos]);
            return Err(self.error(start, format!("malformed number '{shown}'")));
        }
        Ok(Number { text, unit, float })
    }

    /// A key, or a keyword when it is a single bare segment spelling one.
    fn key(&mut self) -> Result<Tok, ParseError> {
        let start = self.pos;
        let mut segments = Vec::new();
        loop {
            match self.peek_char() {
                Some('`') => segments.push(self.quoted_segment()?),
                Some(c) if is_key_char(c) => {
                    let from = self.pos;
                    while self.peek_char().is_some_and(is_key_char) {
                        self.bump();
                    }
                    segments.push(Segment {
                        text: self.src[from..self.pos].to_string(),
                        quoted: false,
                    });
                }
                found => {
                    let so_far = shorten(&self.src[start..self.pos]);
                    return Err(self.error(
                        self.pos,
                        format!(
                            "expected a key after '{so_far}', found {}",
                            describe_char(found)
                        ),
                    ));
                }
            }
            if !self.eat('.') {
                break;
            }
        }
        if let [Segment {
            text,
            quoted: false,
        }] = segments.as_slice()
        {
            if let Some(kw) = keyword(text) {
                return Ok(Tok::Keyword(kw));
            }
        }
        Ok(Tok::Key(segments))
    }

    /// `` `...` `` with `` `` `` standing for one backtick. Dots inside are part of the key.
    fn quoted_segment(&mut self) -> Result<Segment, ParseError> {
        let start = self.pos;
        self.bump();
        let mut text = String::new();
        loop {
            match self.bump() {
                None => return Err(self.error(start, "unterminated backtick-quoted key")),
                Some('`') if self.eat('`') => text.push('`'),
                Some('`') => break,
                Some(c) => text.push(c),
            }
        }
        if text.is_empty() {
            return Err(self.error(start, "empty backtick-quoted key"));
        }
        Ok(Segment { text, quoted: true })
    }
}

fn keyword(word: &str) -> Option<Keyword> {
    const WORDS: [(&str, Keyword); 9] = [
        ("AND", Keyword::And),
        ("OR", Keyword::Or),
        ("NOT", Keyword::Not),
        ("IN", Keyword::In),
        ("LIKE", Keyword::Like),
        ("ILIKE", Keyword::ILike),
        ("RLIKE", Keyword::RLike),
        ("IS", Keyword::Is),
        ("NULL", Keyword::Null),
    ];
    WORDS
        .iter()
        .find(|(w, _)| w.eq_ignore_ascii_case(word))
        .map(|&(_, k)| k)
}

fn quote_char(c: char) -> String {
    if c.is_control() {
        format!("U+{:04X}", c as u32)
    } else {
        format!("'{c}'")
    }
}

fn describe_char(c: Option<char>) -> String {
    match c {
        None => "end of input".to_string(),
        Some(c) if c.is_whitespace() => "a space".to_string(),
        Some(c) => quote_char(c),
    }
}

/// At most 40 characters of `s`, for error messages: a 4 KiB value is not worth echoing.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &s[..cut]),
        None => s.to_string(),
    }
}

// Literal values: numbers, durations and ISO-8601 times, read exactly.

/// `n` as written, unit included, for messages.
pub(crate) fn n_text(n: &Number) -> String {
    shorten(&format!("{}{}", n.text, n.unit))
}

/// A plain number: an `i64` unless written with a fraction or exponent.
pub(crate) fn number(n: &Number) -> Result<Value, String> {
    let out_of_range = || format!("number {} is out of range", shorten(&n.text));
    if n.float {
        match n.text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Value::Float(x)),
            _ => Err(out_of_range()),
        }
    } else {
        n.text
            .parse::<i64>()
            .map(Value::Int)
            .map_err(|_| out_of_range())
    }
}

pub(crate) fn unit_ms(n: &Number) -> Result<i128, String> {
    Ok(match n.unit.as_str() {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        other => {
            return Err(format!(
                "unknown unit '{}' in {}; durations use ms, s, m or h",
                shorten(other),
                n_text(n)
            ))
        }
    })
}

/// `n` × `factor` milliseconds, computed in exact decimal: `1.1s` must be 1100, which `f64`
/// would make 1100.0000000000002.
pub(crate) fn duration_ms(n: &Number, factor: i128) -> Result<i64, String> {
    let too_big = || format!("duration {} is out of range", n_text(n));
    let (negative, body) = match n.text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, n.text.as_str()),
    };
    let (mantissa_part, exponent) = match body.find(['e', 'E']) {
        Some(i) => {
            let exp = body[i + 1..].parse::<i64>().map_err(|_| too_big())?;
            (&body[..i], exp)
        }
        None => (body, 0),
    };
    let (int_part, frac_part) = mantissa_part.split_once('.').unwrap_or((mantissa_part, ""));
    let digits = format!("{int_part}{frac_part}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    if digits.len() > 30 {
        return Err(too_big());
    }
    let mantissa: i128 = digits.parse().map_err(|_| too_big())?;
    let scale = exponent - frac_part.len() as i64; // value = mantissa × 10^scale
    let mut ms = mantissa.checked_mul(factor).ok_or_else(too_big)?;
    if scale >= 0 {
        let pow = u32::try_from(scale)
            .ok()
            .and_then(|s| 10i128.checked_pow(s));
        ms = pow.and_then(|p| ms.checked_mul(p)).ok_or_else(too_big)?;
    } else {
        let pow = u32::try_from(-scale)
            .ok()
            .and_then(|s| 10i128.checked_pow(s));
        match pow {
            Some(p) if ms % p == 0 => ms /= p,
            _ => {
                return Err(format!(
                    "duration {} is not a whole number of milliseconds",
                    n_text(n)
                ))
            }
        }
    }
    let ms = if negative { -ms } else { ms };
    i64::try_from(ms).map_err(|_| too_big())
}

/// Epoch milliseconds for `YYYY-MM-DD[(T| )HH:MM[:SS[.fff…]]][Z|±HH[:MM]]`; UTC when no offset
/// is given. Fractions beyond milliseconds are truncated. Written out here because the crate
/// ships to wasm without a date library.
pub(crate) fn parse_iso8601(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    let mut i = 0;
    let num = |len: usize, i: &mut usize| -> Option<i64> {
        let part = b.get(*i..*i + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        *i += len;
        Some(
            part.iter()
                .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')),
        )
    };
    let expect = |c: u8, i: &mut usize| -> Option<()> { (b.get(*i) == Some(&c)).then(|| *i += 1) };
    let year = num(4, &mut i)?;
    expect(b'-', &mut i)?;
    let month = num(2, &mut i)?;
    expect(b'-', &mut i)?;
    let day = num(2, &mut i)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let (mut hour, mut minute, mut second, mut millis, mut offset_min) = (0, 0, 0, 0, 0);
    if i < b.len() {
        if !matches!(b[i], b'T' | b't' | b' ') {
            return None;
        }
        i += 1;
        hour = num(2, &mut i)?;
        expect(b':', &mut i)?;
        minute = num(2, &mut i)?;
        if b.get(i) == Some(&b':') {
            i += 1;
            second = num(2, &mut i)?;
            if matches!(b.get(i), Some(b'.' | b',')) {
                i += 1;
                let from = i;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
                if i == from {
                    return None;
                }
                let frac = &b[from..i.min(from + 3)];
                millis = frac
                    .iter()
                    .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0'));
                millis *= 10i64.pow(3 - frac.len() as u32);
            }
        }
        if hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        match b.get(i) {
            None => {}
            Some(b'Z' | b'z') => i += 1,
            Some(&sign @ (b'+' | b'-')) => {
                i += 1;
                let oh = num(2, &mut i)?;
                if b.get(i) == Some(&b':') {
                    i += 1;
                }
                let om = if i < b.len() { num(2, &mut i)? } else { 0 };
                if oh > 23 || om > 59 {
                    return None;
                }
                offset_min = (oh * 60 + om) * if sign == b'-' { -1 } else { 1 };
            }
            Some(_) => return None,
        }
    }
    if i != b.len() {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset_min * 60;
    Some(seconds * 1_000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 in the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Tok> {
        let mut lx = Lexer::new(src);
        let mut out = Vec::new();
        loop {
            let t = lx.next_token().unwrap();
            if t.kind == Tok::Eof {
                return out;
            }
            out.push(t.kind);
        }
    }

    fn seg(text: &str, quoted: bool) -> Segment {
        Segment {
            text: text.into(),
            quoted,
        }
    }

    #[test]
    fn keys_split_on_dots_and_keep_backticked_dots() {
        assert_eq!(
            kinds("tags.`mlflow.traceName` attributes.llm.model_name"),
            vec![
                Tok::Key(vec![seg("tags", false), seg("mlflow.traceName", true)]),
                Tok::Key(vec![
                    seg("attributes", false),
                    seg("llm", false),
                    seg("model_name", false)
                ]),
            ]
        );
    }

    #[test]
    fn keywords_are_case_insensitive_single_segments() {
        assert_eq!(
            kinds("and Or NOT tags.in"),
            vec![
                Tok::Keyword(Keyword::And),
                Tok::Keyword(Keyword::Or),
                Tok::Keyword(Keyword::Not),
                Tok::Key(vec![seg("tags", false), seg("in", false)]),
            ]
        );
    }

    #[test]
    fn operators() {
        assert_eq!(
            kinds("= == != <> < <= > >="),
            [
                CmpOp::Eq,
                CmpOp::Eq,
                CmpOp::Ne,
                CmpOp::Ne,
                CmpOp::Lt,
                CmpOp::Le,
                CmpOp::Gt,
                CmpOp::Ge
            ]
            .map(Tok::Cmp)
        );
    }

    #[test]
    fn numbers_keep_text_and_unit() {
        let n = |text: &str, unit: &str, float| {
            Tok::Number(Number {
                text: text.into(),
                unit: unit.into(),
                float,
            })
        };
        assert_eq!(
            kinds("5 -12 1.5s 200ms 1e3 2.5E-2 5e"),
            vec![
                n("5", "", false),
                n("-12", "", false),
                n("1.5", "s", true),
                n("200", "ms", false),
                n("1e3", "", true),
                n("2.5E-2", "", true),
                n("5", "e", false),
            ]
        );
    }

    #[test]
    fn strings_resolve_escapes_and_doubled_quotes() {
        assert_eq!(
            kinds(r#"'it''s' "say ""hi""" 'a\'b' "a\"b" 'c\\d' 'e\%f'"#),
            ["it's", "say \"hi\"", "a'b", "a\"b", "c\\d", "e\\%f"].map(|s| Tok::Str(s.into()))
        );
    }

    #[test]
    fn errors_point_at_the_offending_character() {
        let err = |src| Lexer::new(src).next_token().unwrap_err().to_string();
        assert_eq!(err("'abc"), "at column 1: unterminated string");
        assert_eq!(err("`abc"), "at column 1: unterminated backtick-quoted key");
        assert_eq!(err("``"), "at column 1: empty backtick-quoted key");
        assert_eq!(err("#"), "at column 1: unexpected character '#'");
        assert_eq!(
            err("tags. x"),
            "at column 6: expected a key after 'tags.', found a space"
        );
        assert_eq!(err("1.2.3"), "at column 1: malformed number '1.2.3'");
        assert_eq!(
            err("!x"),
            "at column 1: unexpected character '!'; did you mean '!='?"
        );
    }

    #[test]
    fn iso8601_matches_known_epochs() {
        assert_eq!(parse_iso8601("1970-01-01"), Some(0));
        assert_eq!(parse_iso8601("1970-01-01T00:00:01Z"), Some(1_000));
        assert_eq!(
            parse_iso8601("2026-11-23T20:00:00Z"),
            Some(1_795_464_000_000)
        );
        assert_eq!(
            parse_iso8601("2026-11-23 20:00:00.5z"),
            Some(1_795_464_000_500)
        );
        assert_eq!(
            parse_iso8601("2026-11-23T21:30:00.123456+01:30"),
            Some(1_795_464_000_123)
        );
        assert_eq!(
            parse_iso8601("2026-11-23T15:00-0500"),
            Some(1_795_464_000_000)
        );
        assert_eq!(parse_iso8601("2000-02-29T00:00"), Some(951_782_400_000));
        assert_eq!(parse_iso8601("1969-12-31T23:59:59Z"), Some(-1_000));
    }

    #[test]
    fn iso8601_rejects_impossible_dates_and_junk() {
        for bad in [
            "",
            "2026",
            "2026-13-01",
            "2026-02-29",
            "1900-02-29",
            "2026-04-31",
            "2026-01-01T24:00",
            "2026-01-01T10",
            "2026-01-01T10:00:00.",
            "2026-01-01T10:00:00Q",
            "2026-01-01T10:00:00+5",
            "2026-1-01",
            "yesterday",
            "２０２６-01-01",
        ] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
    }

    fn num(text: &str, unit: &str) -> Number {
        Number {
            text: text.into(),
            unit: unit.into(),
            float: text.contains(['.', 'e', 'E']),
        }
    }

    #[test]
    fn durations_are_exact() {
        assert_eq!(duration_ms(&num("1.1", "s"), 1_000), Ok(1_100));
        assert_eq!(duration_ms(&num("1.5", "s"), 1_000), Ok(1_500));
        assert_eq!(duration_ms(&num("2", "m"), 60_000), Ok(120_000));
        assert_eq!(duration_ms(&num("-0.25", "s"), 1_000), Ok(-250));
        assert_eq!(duration_ms(&num("1e3", "ms"), 1), Ok(1_000));
        assert_eq!(duration_ms(&num("0.000", "s"), 1_000), Ok(0));
        assert!(duration_ms(&num("1.5", "ms"), 1)
            .unwrap_err()
            .contains("not a whole number"));
        assert!(duration_ms(&num("1e300", "h"), 3_600_000)
            .unwrap_err()
            .contains("out of range"));
        assert!(duration_ms(&num("1e-300", "h"), 3_600_000).is_err());
    }
}
