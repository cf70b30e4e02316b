//! A binary, narrow-sense, primitive BCH code of length `n = 2^m − 1` over GF(2^m), with
//! systematic encoding and bounded-distance decoding (syndromes, Berlekamp–Massey, Chien
//! search), after Lin & Costello, *Error Control Coding*, ch. 6.
//!
//! Written here because crates.io has no maintained general binary BCH crate: the candidates
//! are bindings to the GPL Linux kernel library (`bchlib-sys`) or fixed codes for one text
//! format (codex32 checksums). The decoder corrects every error pattern of weight at most `t`
//! and reports [`BchError::Uncorrectable`] when the error locator does not split into distinct
//! roots; a pattern of weight above `t` may also be *mis*corrected into another codeword,
//! which no decoder can prevent — the fuzzy extractor's key check catches that case.
//!
//! Words are slices of bits, one `u8` (0 or 1) per bit; bit `i` is the coefficient of `x^i`.

/// Why a word could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BchError {
    /// More errors than the code corrects were detected.
    #[error("more than t bit errors: uncorrectable")]
    Uncorrectable,
    /// The word or message has the wrong length.
    #[error("word length {actual}, expected {expected}")]
    Length {
        /// The length expected.
        expected: usize,
        /// The length given.
        actual: usize,
    },
    /// The parameters do not define a code (primitive polynomial not primitive, `t` too large).
    #[error("invalid BCH parameters")]
    Parameters,
}

/// A BCH code with its field tables and generator polynomial.
#[derive(Clone)]
pub struct Bch {
    n: usize,
    k: usize,
    t: usize,
    /// `exp[i] = α^i`, for `i` in `0..2n` (doubled so products need no reduction).
    exp: Vec<u16>,
    /// `log[x]` for `x` in `1..=n`; `log[0]` is unused.
    log: Vec<u16>,
    /// Generator polynomial coefficients (bits), degree `n − k`.
    generator: Vec<u8>,
}

impl std::fmt::Debug for Bch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BCH({}, {}, {})", self.n, self.k, self.t)
    }
}

fn at(table: &[u16], i: usize) -> u16 {
    table.get(i).copied().unwrap_or(0)
}

impl Bch {
    /// The code of length `2^m − 1` correcting `t` errors, over the field defined by the
    /// primitive polynomial `poly` (bit `i` = coefficient of `x^i`, including `x^m`).
    ///
    /// # Errors
    /// [`BchError::Parameters`] if `poly` is not primitive of degree `m`, `m` is outside
    /// 3..=15, or `t` leaves no message bits.
    pub fn new(m: u32, poly: u32, t: usize) -> Result<Self, BchError> {
        if !(3..=15).contains(&m) || poly >> m != 1 || t == 0 {
            return Err(BchError::Parameters);
        }
        let n = (1usize << m) - 1;
        let mut exp = vec![0u16; 2 * n];
        let mut log = vec![0u16; n + 1];
        let mut x: u32 = 1;
        for i in 0..n {
            // α has order n exactly iff no power before the n-th returns to 1.
            if i > 0 && x == 1 {
                return Err(BchError::Parameters);
            }
            let xi = u16::try_from(x).map_err(|_| BchError::Parameters)?;
            let ii = u16::try_from(i).map_err(|_| BchError::Parameters)?;
            *exp.get_mut(i).ok_or(BchError::Parameters)? = xi;
            *exp.get_mut(i + n).ok_or(BchError::Parameters)? = xi;
            *log.get_mut(usize::from(xi)).ok_or(BchError::Parameters)? = ii;
            x <<= 1;
            if x >> m == 1 {
                x ^= poly;
            }
        }
        if x != 1 {
            return Err(BchError::Parameters);
        }
        let mut code = Bch {
            n,
            k: 0,
            t,
            exp,
            log,
            generator: vec![1],
        };
        code.generator = code.generator_polynomial()?;
        let parity = code.generator.len() - 1;
        if parity >= n {
            return Err(BchError::Parameters);
        }
        code.k = n - parity;
        Ok(code)
    }

    /// Codeword length in bits.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Message length in bits.
    pub fn k(&self) -> usize {
        self.k
    }
    /// Number of bit errors always corrected.
    pub fn t(&self) -> usize {
        self.t
    }

    fn mul(&self, a: u16, b: u16) -> u16 {
        if a == 0 || b == 0 {
            return 0;
        }
        at(
            &self.exp,
            usize::from(at(&self.log, a.into())) + usize::from(at(&self.log, b.into())),
        )
    }

    fn inv(&self, a: u16) -> u16 {
        // a ≠ 0 is the caller's invariant; 0 maps to 0 and then multiplies to 0.
        if a == 0 {
            return 0;
        }
        at(&self.exp, self.n - usize::from(at(&self.log, a.into())))
    }

    /// `α^e` for any `e` (reduced mod n).
    fn alpha_pow(&self, e: usize) -> u16 {
        at(&self.exp, e % self.n)
    }

    /// The least common multiple of the minimal polynomials of α¹…α^{2t}: the product of the
    /// distinct minimal polynomials, one per cyclotomic coset met.
    fn generator_polynomial(&self) -> Result<Vec<u8>, BchError> {
        let mut covered = vec![false; self.n];
        let mut generator: Vec<u8> = vec![1];
        for i in 1..=2 * self.t {
            let i = i % self.n;
            if covered.get(i).copied().unwrap_or(true) {
                continue;
            }
            // The coset {i·2^j mod n}.
            let mut coset = Vec::new();
            let mut c = i;
            loop {
                coset.push(c);
                if let Some(slot) = covered.get_mut(c) {
                    *slot = true;
                }
                c = (c * 2) % self.n;
                if c == i {
                    break;
                }
            }
            // Π (x + α^c) over GF(2^m); its coefficients lie in GF(2).
            let mut minimal: Vec<u16> = vec![1];
            for &c in &coset {
                let root = self.alpha_pow(c);
                let mut next = vec![0u16; minimal.len() + 1];
                for (j, &coef) in minimal.iter().enumerate() {
                    if let Some(hi) = next.get_mut(j + 1) {
                        *hi ^= coef;
                    }
                    let prod = self.mul(coef, root);
                    if let Some(lo) = next.get_mut(j) {
                        *lo ^= prod;
                    }
                }
                minimal = next;
            }
            let mut bits = Vec::with_capacity(minimal.len());
            for coef in minimal {
                if coef > 1 {
                    return Err(BchError::Parameters);
                }
                bits.push(u8::try_from(coef).map_err(|_| BchError::Parameters)?);
            }
            generator = gf2_mul(&generator, &bits);
        }
        Ok(generator)
    }

    /// The systematic codeword of `message` (`k` bits): parity in bits `0..n−k`, the message
    /// in bits `n−k..n`.
    ///
    /// # Errors
    /// [`BchError::Length`] if `message` is not `k` bits long.
    pub fn encode(&self, message: &[u8]) -> Result<Vec<u8>, BchError> {
        if message.len() != self.k {
            return Err(BchError::Length {
                expected: self.k,
                actual: message.len(),
            });
        }
        let parity = self.n - self.k;
        let mut word = vec![0u8; self.n];
        for (w, &m) in word.iter_mut().skip(parity).zip(message) {
            *w = m & 1;
        }
        // Remainder of message(x)·x^{n−k} by g(x), by long division from the top degree.
        let mut rem = word.clone();
        for deg in (parity..self.n).rev() {
            if rem.get(deg).copied().unwrap_or(0) == 1
                && let Some(window) = rem.get_mut(deg - parity..=deg)
            {
                for (r, g) in window.iter_mut().zip(&self.generator) {
                    *r ^= g;
                }
            }
        }
        for (w, r) in word.iter_mut().zip(rem).take(parity) {
            *w = r;
        }
        Ok(word)
    }

    /// The syndromes S₁…S_{2t} of `word`: `S_j = word(α^j)`.
    fn syndromes(&self, word: &[u8]) -> Vec<u16> {
        let n = self.n;
        // Odd j only: exponent i·j mod n kept incrementally (a division per term is the
        // decoder's hot spot otherwise); S_{2i} = S_i² in characteristic 2.
        let odd: Vec<usize> = (1..=2 * self.t).step_by(2).map(|j| j % n).collect();
        let mut exps = vec![0usize; odd.len()];
        let mut sums = vec![0u16; odd.len()];
        for &bit in word {
            if bit & 1 == 1 {
                for (sum, &e) in sums.iter_mut().zip(&exps) {
                    *sum ^= at(&self.exp, e);
                }
            }
            for (e, &j) in exps.iter_mut().zip(&odd) {
                *e += j;
                if *e >= n {
                    *e -= n;
                }
            }
        }
        let mut s = vec![0u16; 2 * self.t];
        for j in 1..=2 * self.t {
            let value = if j % 2 == 0 {
                let half = s.get(j / 2 - 1).copied().unwrap_or(0);
                self.mul(half, half)
            } else {
                sums.get(j / 2).copied().unwrap_or(0)
            };
            if let Some(slot) = s.get_mut(j - 1) {
                *slot = value;
            }
        }
        s
    }

    /// Corrects `word` (`n` bits) in place to the nearest codeword within distance `t`;
    /// returns the number of bits flipped.
    ///
    /// # Errors
    /// [`BchError::Uncorrectable`] when more than `t` errors are detected (the word is then
    /// left unchanged), [`BchError::Length`] for a word that is not `n` bits.
    pub fn decode(&self, word: &mut [u8]) -> Result<usize, BchError> {
        if word.len() != self.n {
            return Err(BchError::Length {
                expected: self.n,
                actual: word.len(),
            });
        }
        let s = self.syndromes(word);
        if s.iter().all(|&x| x == 0) {
            return Ok(0);
        }
        let locator = self.berlekamp_massey(&s);
        let degree = locator.len() - 1;
        if degree == 0 || degree > self.t {
            return Err(BchError::Uncorrectable);
        }
        // Chien search: position i is in error iff Λ(α^{−i}) = Σ_j Λ_j·α^{−i·j} = 0; the
        // exponent of each term drops by j from one position to the next.
        let mut terms: Vec<(usize, usize)> = locator
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c != 0)
            .map(|(j, &c)| (usize::from(at(&self.log, c.into())), j % self.n))
            .collect();
        let mut positions = Vec::with_capacity(degree);
        for i in 0..self.n {
            let sum = terms
                .iter()
                .fold(0u16, |acc, &(e, _)| acc ^ at(&self.exp, e));
            if sum == 0 {
                positions.push(i);
            }
            for (e, j) in &mut terms {
                *e = if *e >= *j { *e - *j } else { *e + self.n - *j };
            }
        }
        if positions.len() != degree {
            return Err(BchError::Uncorrectable);
        }
        // Belt and braces: the error pattern found must explain every syndrome, so that only
        // a codeword leaves the decoder.
        for (j, &sj) in s.iter().enumerate() {
            let explained = positions
                .iter()
                .fold(0u16, |acc, &p| acc ^ self.alpha_pow(p * (j + 1)));
            if explained != sj {
                return Err(BchError::Uncorrectable);
            }
        }
        let mut corrected = word.to_vec();
        for &p in &positions {
            if let Some(b) = corrected.get_mut(p) {
                *b ^= 1;
            }
        }
        word.copy_from_slice(&corrected);
        Ok(degree)
    }

    /// The error-locator polynomial Λ (lowest degree first, no trailing zeros) of the
    /// syndromes, by Berlekamp–Massey.
    fn berlekamp_massey(&self, s: &[u16]) -> Vec<u16> {
        let mut c: Vec<u16> = vec![1];
        let mut b: Vec<u16> = vec![1];
        let mut l = 0usize;
        let mut shift = 1usize;
        let mut last = 1u16;
        for step in 0..s.len() {
            let mut d = s.get(step).copied().unwrap_or(0);
            for i in 1..=l.min(step) {
                let ci = c.get(i).copied().unwrap_or(0);
                let si = s.get(step - i).copied().unwrap_or(0);
                d ^= self.mul(ci, si);
            }
            if d == 0 {
                shift += 1;
                continue;
            }
            let coef = self.mul(d, self.inv(last));
            let mut next = c.clone();
            if next.len() < b.len() + shift {
                next.resize(b.len() + shift, 0);
            }
            for (i, &bi) in b.iter().enumerate() {
                if let Some(slot) = next.get_mut(i + shift) {
                    *slot ^= self.mul(coef, bi);
                }
            }
            if 2 * l <= step {
                b = c;
                l = step + 1 - l;
                last = d;
                shift = 1;
            } else {
                shift += 1;
            }
            c = next;
        }
        while c.len() > 1 && c.last() == Some(&0) {
            c.pop();
        }
        c
    }
}

/// Product of two polynomials over GF(2).
fn gf2_mul(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len() + b.len() - 1];
    for (i, &x) in a.iter().enumerate() {
        if x == 1
            && let Some(window) = out.get_mut(i..i + b.len())
        {
            for (o, &y) in window.iter_mut().zip(b) {
                *o ^= y;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bch_15_7_2_is_the_textbook_code() {
        // x^4 + x + 1; g(x) = x^8 + x^7 + x^6 + x^4 + 1 (Lin & Costello, example 6.1).
        let code = Bch::new(4, 0b1_0011, 2).unwrap();
        assert_eq!((code.n(), code.k(), code.t()), (15, 7, 2));
        assert_eq!(code.generator, vec![1, 0, 0, 0, 1, 0, 1, 1, 1]);
    }

    #[test]
    fn a_non_primitive_polynomial_is_refused() {
        // x^4 + x^3 + x^2 + x + 1 is irreducible but α has order 5.
        assert_eq!(Bch::new(4, 0b1_1111, 2).unwrap_err(), BchError::Parameters);
    }

    #[test]
    fn codewords_have_zero_syndromes_and_errors_are_corrected() {
        let code = Bch::new(6, 0b100_0011, 5).unwrap();
        let msg: Vec<u8> = (0..code.k()).map(|i| u8::from(i % 3 == 0)).collect();
        let cw = code.encode(&msg).unwrap();
        assert!(code.syndromes(&cw).iter().all(|&s| s == 0));
        assert_eq!(&cw[code.n() - code.k()..], &msg[..]);
        let mut noisy = cw.clone();
        for p in [0, 7, 20, 41, 62] {
            noisy[p] ^= 1;
        }
        assert_eq!(code.decode(&mut noisy), Ok(5));
        assert_eq!(noisy, cw);
    }
}
