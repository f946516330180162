package config

import "crypto/sha256"

// apiIDAlphabet is the character set of Amazon API Gateway's resource ids:
// lower-case letters and digits.
const apiIDAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// APIID derives the 10-character id an API is known by (apiId in events and
// the access log, X-Amzn-Apigateway-Api-Id, {id}.execute-api hosts) from
// its name. The id is stable: the same name gives the same id on every
// instance and after every restart, so logs and clients can rely on it.
// Resources created at run time get random ids of the same shape instead.
func APIID(name string) string { return derivedID("api", name) }

// derivedID hashes kind and name into ten characters of apiIDAlphabet; kind
// keeps ids of different resources with the same name apart.
func derivedID(kind, name string) string {
	sum := sha256.Sum256([]byte(kind + "\x00" + name))
	var id [10]byte
	for i := range id {
		id[i] = apiIDAlphabet[int(sum[i])%len(apiIDAlphabet)]
	}
	return string(id[:])
}
