package token_test

import (
	"fmt"

	"github.com/pgsession/pgsession/token"
)

// Rotating keys: the new key signs, the old one still verifies, so nobody is
// logged out; once the old key is removed its tokens are refused.
func Example() {
	// In production: token.ParseKeys(os.Getenv("PGSESSION_KEYS")).
	oldKey, _ := token.GenerateKey("2025a")
	newKey, _ := token.GenerateKey("2025b")

	before, _ := token.NewRing(oldKey)
	secret := "3q2-7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" // Session.Token()
	tok, _ := before.Encode(token.Claims{Secret: secret, Version: 4})

	during, _ := token.NewRing(newKey, oldKey)
	c, err := during.Decode(tok)
	fmt.Println(c.Version, c.KeyID, during.IsCurrent(c), err)
	tok, _ = during.Encode(c) // re-issued under the new key

	after, _ := token.NewRing(newKey)
	c, err = after.Decode(tok)
	fmt.Println(c.Version, c.KeyID, err)
	// Output:
	// 4 2025a false <nil>
	// 4 2025b <nil>
}
