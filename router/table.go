package router

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/frontdeskgw/frontdesk/internal/ascii"
)

// Mount says where an API is served: which hosts (none = any), under which
// base path, and with which stages.
type Mount struct {
	Hosts    []string
	BasePath string
	// Stages are the named stages, each served under /{stage} after the
	// base path. DefaultStage serves the API directly at the base path.
	Stages       []string
	DefaultStage bool
}

// Selection is the outcome of Table.Match.
type Selection struct {
	// API is the mount id, or -1 when no API is mounted there.
	API int
	// Stage indexes Mount.Stages; -1 is the $default stage; NoStage means
	// the API has named stages and the path names none of them.
	Stage int
	// Rest is the path left after base path and stage; it starts with '/'.
	Rest []byte
}

// NoStage marks a Selection whose API matched but whose stage did not.
const NoStage = -2

type mount struct {
	id       int
	hosts    [][]byte
	basePath []byte
	stages   [][]byte
	def      bool
}

// Table selects the API and stage for a request.
type Table struct {
	mounts []mount
}

var slash = []byte("/")

// Add registers an API mount. Two APIs on the same host and base path
// conflict.
func (t *Table) Add(m Mount, id int) error {
	bp := strings.TrimSuffix(m.BasePath, "/")
	if bp != "" && !strings.HasPrefix(bp, "/") {
		return fmt.Errorf("base_path %q must start with /", m.BasePath)
	}
	nm := mount{id: id, basePath: []byte(bp), def: m.DefaultStage}
	for _, h := range m.Hosts {
		nm.hosts = append(nm.hosts, []byte(strings.ToLower(h)))
	}
	for _, s := range m.Stages {
		nm.stages = append(nm.stages, []byte(s))
	}
	for _, o := range t.mounts {
		if !bytes.Equal(o.basePath, nm.basePath) {
			continue
		}
		if (len(o.hosts) == 0 && len(nm.hosts) == 0) || sharesHost(o.hosts, nm.hosts) {
			return fmt.Errorf("same hosts and base_path %q as another API", m.BasePath)
		}
	}
	t.mounts = append(t.mounts, nm)
	// Host-specific APIs first, then longer base paths: the first mount
	// that matches is the most specific.
	sort.SliceStable(t.mounts, func(i, j int) bool {
		a, b := t.mounts[i], t.mounts[j]
		if (len(a.hosts) > 0) != (len(b.hosts) > 0) {
			return len(a.hosts) > 0
		}
		return len(a.basePath) > len(b.basePath)
	})
	return nil
}

func sharesHost(a, b [][]byte) bool {
	for _, x := range a {
		for _, y := range b {
			if bytes.Equal(x, y) {
				return true
			}
		}
	}
	return false
}

// Match picks the API and stage for host (port allowed) and path.
func (t *Table) Match(host, path []byte) Selection {
	if i := bytes.LastIndexByte(host, ':'); i >= 0 && bytes.IndexByte(host[i:], ']') < 0 {
		host = host[:i]
	}
	for k := range t.mounts {
		m := &t.mounts[k]
		if len(m.hosts) > 0 && !hostIn(host, m.hosts) {
			continue
		}
		rest, ok := cutBase(path, m.basePath)
		if !ok {
			continue
		}
		if len(m.stages) > 0 {
			seg, after := firstSegment(rest)
			for si, s := range m.stages {
				if bytes.Equal(seg, s) {
					return Selection{API: m.id, Stage: si, Rest: after}
				}
			}
		}
		if m.def {
			return Selection{API: m.id, Stage: -1, Rest: rest}
		}
		return Selection{API: m.id, Stage: NoStage, Rest: rest}
	}
	return Selection{API: -1, Stage: NoStage, Rest: path}
}

func hostIn(host []byte, hosts [][]byte) bool {
	for _, h := range hosts {
		if ascii.EqualFold(host, h) {
			return true
		}
	}
	return false
}

// cutBase strips base from path at a segment boundary.
func cutBase(path, base []byte) ([]byte, bool) {
	if len(base) == 0 {
		return path, true
	}
	if !bytes.HasPrefix(path, base) {
		return nil, false
	}
	rest := path[len(base):]
	if len(rest) == 0 {
		return slash, true
	}
	if rest[0] != '/' {
		return nil, false
	}
	return rest, true
}

// firstSegment splits "/a/b" into "a" and "/b" ("/a" gives "a" and "/").
func firstSegment(p []byte) ([]byte, []byte) {
	if len(p) == 0 || p[0] != '/' {
		return nil, p
	}
	i := bytes.IndexByte(p[1:], '/')
	if i < 0 {
		return p[1:], slash
	}
	return p[1 : i+1], p[i+1:]
}
