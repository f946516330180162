package pipeline

import (
	"hash/maphash"
	"strings"
	"testing"
)

func newKeyTable(values ...string) (*Keys, []*Key) {
	t := &Keys{seed: maphash.MakeSeed(), byHash: map[uint64][]*Key{}}
	var keys []*Key
	for i, v := range values {
		k := &Key{Name: "key" + string(rune('a'+i)), value: []byte(v)}
		t.add(k)
		keys = append(keys, k)
	}
	return t, keys
}

func TestKeysAreFoundByTheirWholeValueOnly(t *testing.T) {
	table, keys := newKeyTable("benchkey0123456789abcdef", "another-key-0123456789", "k")
	tests := []struct {
		name  string
		value string
		want  *Key
	}{
		{"first key", "benchkey0123456789abcdef", keys[0]},
		{"second key", "another-key-0123456789", keys[1]},
		{"one-byte key", "k", keys[2]},
		{"prefix of a key", "benchkey0123456789abcde", nil},
		{"key with a byte more", "benchkey0123456789abcdefX", nil},
		{"last byte wrong", "benchkey0123456789abcdeF", nil},
		{"case differs", "BENCHKEY0123456789ABCDEF", nil},
		{"empty", "", nil},
		{"longer than any key may be", strings.Repeat("k", 129), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := table.lookup([]byte(tt.value)); got != tt.want {
				t.Errorf("lookup(%q) = %v, want %v", tt.value, got, tt.want)
			}
		})
	}
}

// TestKeysSharingAHashAreToldApartByValue: on a 64-bit hash collision the
// bucket holds both keys, and the value decides.
func TestKeysSharingAHashAreToldApartByValue(t *testing.T) {
	table, keys := newKeyTable("first-value", "second-value")
	h := maphash.Bytes(table.seed, keys[0].value)
	table.byHash = map[uint64][]*Key{h: {keys[1], keys[0]}}
	if got := table.lookup(keys[0].value); got != keys[0] {
		t.Errorf("lookup found %v, want %v", got, keys[0])
	}
}

func TestALaterKeyWithTheSameValueReplacesTheEarlier(t *testing.T) {
	table, keys := newKeyTable("same-value", "same-value")
	if got := table.lookup([]byte("same-value")); got != keys[1] {
		t.Errorf("lookup found %v, want the later key %v", got, keys[1])
	}
	if n := len(table.allKeys()); n != 1 {
		t.Errorf("table holds %d keys, want 1", n)
	}
}

// BenchmarkKeyLookup is the API key step's lookup of a 24-byte key among
// 100.
func BenchmarkKeyLookup(b *testing.B) {
	values := make([]string, 100)
	for i := range values {
		values[i] = "benchkey0123456789abc" + string(rune('A'+i/10)) + string(rune('a'+i%10)) + "x"
	}
	table, keys := newKeyTable(values...)
	v := []byte(values[42])
	b.ReportAllocs()
	for b.Loop() {
		if table.lookup(v) != keys[42] {
			b.Fatal("key not found")
		}
	}
}
