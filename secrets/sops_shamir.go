package secrets

import "errors"

// With several key groups, SOPS splits the data key with Shamir's secret
// sharing over GF(2^8) (the AES field, x^8+x^4+x^3+x+1): each group's
// part holds one byte of a polynomial's value per key byte, then the x
// coordinate; any shamir_threshold parts give the key back as the
// polynomials' values at 0.

func gfMul(a, b byte) byte {
	var p byte
	for b > 0 {
		if b&1 != 0 {
			p ^= a
		}
		carry := a & 0x80
		a <<= 1
		if carry != 0 {
			a ^= 0x1b
		}
		b >>= 1
	}
	return p
}

// gfInverse is a^254, a's inverse in the field's multiplicative group.
func gfInverse(a byte) byte {
	r := byte(1)
	for range 254 {
		r = gfMul(r, a)
	}
	return r
}

// combineShamir interpolates the parts at 0.
func combineShamir(parts [][]byte) ([]byte, error) {
	if len(parts) < 2 {
		return nil, errors.New("fewer than two key parts")
	}
	n := len(parts[0])
	xs := make([]byte, len(parts))
	for i, p := range parts {
		if len(p) != n || n < 2 {
			return nil, errors.New("key parts of different lengths")
		}
		xs[i] = p[n-1]
		for j := range i {
			if xs[j] == xs[i] {
				return nil, errors.New("two key parts of the same share")
			}
		}
	}
	key := make([]byte, n-1)
	for b := range key {
		var sum byte
		for i := range parts {
			// Lagrange basis at 0: the product of x_j / (x_j - x_i);
			// subtraction is XOR here.
			basis := byte(1)
			for j := range parts {
				if j != i {
					basis = gfMul(basis, gfMul(xs[j], gfInverse(xs[j]^xs[i])))
				}
			}
			sum ^= gfMul(parts[i][b], basis)
		}
		key[b] = sum
	}
	return key, nil
}
