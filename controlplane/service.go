package controlplane

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	fhrouter "github.com/fasthttp/router"
	"github.com/frontdeskgw/frontdesk/auth/sigv4"
	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/pipeline"
	"github.com/valyala/fasthttp"
)

// Applier is what applies a change: the server.
type Applier interface {
	// Apply serves the config file extended by extend. It compiles the
	// result, calls persist and, only when persist succeeds, swaps it in
	// like a reload. Any error means nothing changed; a config.Errors
	// error lists why the config was refused.
	Apply(extend func(*config.Config), persist func() error) error
	// Config is the config in use.
	Config() *config.Config
	// KeyUsage is every API key's usage at now.
	KeyUsage(now time.Time) []pipeline.KeyUsage
}

// Options configure a Service.
type Options struct {
	// StateFile is where the state is kept ("" keeps it in memory only).
	StateFile string
	// Credentials are the key pairs SigV4 signatures are checked against;
	// none: unsigned calls from loopback addresses only.
	Credentials []config.Credential
	// Endpoint is the data-plane URL of host (websocket: ws or wss), or of
	// the listener itself when host is "".
	Endpoint func(host string, websocket bool) string
	Log      *slog.Logger
	// Shared, when set (cluster.redis), holds the state of every
	// instance; the state file is then this instance's copy of it.
	Shared Shared
}

// Rate of calls the control plane serves, over all clients; more answer
// 429 TooManyRequestsException, as AWS's account-level limits do.
const (
	callRate  = 20.0 // per second
	callBurst = 40.0
)

// Service is the control plane of one frontdesk.
type Service struct {
	opts     Options
	log      *slog.Logger
	app      Applier
	verifier *sigv4.Verifier
	router   *fhrouter.Router
	started  time.Time

	// imports keeps the importer's reading of REST API definitions.
	imports *importCache

	mu    sync.Mutex // serialises changes
	state atomic.Pointer[State]
	// version is the Shared version state holds (0 without Shared).
	version atomic.Int64

	rateMu sync.Mutex
	tokens float64
	last   time.Time
}

// New reads the state file and builds the service; Bind must be called
// before it serves.
func New(opts Options) (*Service, error) {
	st, err := loadState(opts.StateFile)
	if err != nil {
		return nil, err
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Endpoint == nil {
		opts.Endpoint = func(host string, ws bool) string { return "http://" + host }
	}
	s := &Service{opts: opts, log: opts.Log, router: fhrouter.New(), imports: &importCache{}, started: time.Now().UTC().Truncate(time.Second), tokens: callBurst}
	s.state.Store(st)
	if len(opts.Credentials) > 0 {
		secrets := make(map[string]string, len(opts.Credentials))
		for _, c := range opts.Credentials {
			secrets[c.AccessKeyID] = c.SecretAccessKey
		}
		s.verifier = sigv4.NewVerifier(secrets, "", "apigateway")
	}
	s.routesV2()
	s.routesV1()
	s.routesRest()
	s.router.NotFound = func(ctx *fasthttp.RequestCtx) {
		writeError(ctx, notFound("Unsupported operation: %s %s", ctx.Method(), ctx.Path()))
	}
	s.router.MethodNotAllowed = s.router.NotFound
	return s, nil
}

// Bind sets the Applier changes go to.
func (s *Service) Bind(app Applier) { s.app = app }

// Signed reports whether calls must be SigV4-signed (credentials are
// configured); otherwise only loopback callers are served.
func (s *Service) Signed() bool { return s.verifier != nil }

// Empty reports that nothing was created yet.
func (s *Service) Empty() bool {
	st := s.state.Load()
	return len(st.APIs) == 0 && len(st.Keys) == 0 && len(st.Plans) == 0 && len(st.RestAPIs) == 0
}

// Prefixes are the paths the control plane answers under; the admin
// listener mounts Handler on them.
var Prefixes = []string{"/v2/", "/apikeys", "/usageplans", "/restapis"}

// Handler serves the control plane's calls.
func (s *Service) Handler(ctx *fasthttp.RequestCtx) {
	if err := s.authenticate(ctx); err != nil {
		writeError(ctx, err)
		return
	}
	if !s.allow(time.Now()) {
		ctx.Response.Header.Set("Retry-After", "1")
		writeError(ctx, errTooMany)
		return
	}
	s.router.Handler(ctx)
}

// authenticate checks the caller: a SigV4 signature by one of the
// credentials, or, with none configured, a loopback address.
func (s *Service) authenticate(ctx *fasthttp.RequestCtx) error {
	if s.verifier == nil {
		if !ctx.RemoteIP().IsLoopback() {
			return &awsError{403, "AccessDeniedException", "no admin.credentials configured: the control plane serves loopback callers only"}
		}
		return nil
	}
	if len(ctx.Request.Header.Peek("Authorization")) == 0 {
		return &awsError{403, "MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	err := s.verifier.Verify(&ctx.Request, ctx.IsTLS(), time.Now())
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sigv4.ErrUnknownKey):
		s.log.Info("control plane call refused", "remote", ctx.RemoteIP().String(), "err", err)
		return &awsError{403, "UnrecognizedClientException", "The security token included in the request is invalid."}
	case errors.Is(err, sigv4.ErrExpired):
		s.log.Info("control plane call refused", "remote", ctx.RemoteIP().String(), "err", err)
		return &awsError{403, "InvalidSignatureException", "Signature expired: " + strings.TrimPrefix(err.Error(), sigv4.ErrExpired.Error()+": ")}
	default:
		s.log.Info("control plane call refused", "remote", ctx.RemoteIP().String(), "err", err)
		return &awsError{403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."}
	}
}

// allow takes one token of the call bucket.
func (s *Service) allow(now time.Time) bool {
	s.rateMu.Lock()
	defer s.rateMu.Unlock()
	if !s.last.IsZero() {
		s.tokens = min(callBurst, s.tokens+now.Sub(s.last).Seconds()*callRate)
	}
	s.last = now
	if s.tokens < 1 {
		return false
	}
	s.tokens--
	return true
}

// Extend adds the committed state to c: what the server's reloads serve
// besides the file.
func (s *Service) Extend(c *config.Config) { extend(c, s.state.Load(), false, s.imports) }

// read answers from the committed state, which no change ever modifies
// (changes work on a copy).
func (s *Service) read(ctx *fasthttp.RequestCtx, fn func(st *State, file *config.Config) (any, error)) {
	out, err := fn(s.state.Load(), s.app.Config())
	if err != nil {
		writeError(ctx, err)
		return
	}
	writeJSON(ctx, 200, out)
}

// change runs fn on a copy of the state and applies the copy: answered
// with status and fn's result when it serves, else with why, and the
// state as it was.
func (s *Service) change(ctx *fasthttp.RequestCtx, status int, fn func(st *State, file *config.Config) (any, error)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	base, v := s.state.Load(), s.version.Load()
	if s.opts.Shared != nil {
		// Changes build on the newest shared state, which another
		// instance may have stored a moment ago.
		sctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
		cur, cv, err := s.opts.Shared.Load(sctx)
		cancel()
		if err != nil {
			writeError(ctx, &awsError{500, "InternalServerErrorException", err.Error()})
			return
		}
		base, v = cur, cv
	}
	next := base.clone()
	out, err := fn(next, s.app.Config())
	if err == nil {
		err = s.apply(next, v)
	}
	if err != nil {
		writeError(ctx, err)
		return
	}
	if status == 204 || status == 202 {
		out = nil
	}
	writeJSON(ctx, status, out)
}

// sharedTimeout bounds one operation on the shared state.
const sharedTimeout = 5 * time.Second

// Pull adopts the shared state before the first config is compiled or,
// when none is stored yet, seeds it with this instance's own.
func (s *Service) Pull(ctx context.Context) error {
	sh := s.opts.Shared
	if sh == nil {
		return nil
	}
	for range 3 {
		st, v, err := sh.Load(ctx)
		if err != nil {
			return err
		}
		if v > 0 {
			if err := saveState(s.opts.StateFile, st); err != nil {
				s.log.Warn("the local copy of the shared state was not written", "err", err)
			}
			s.state.Store(st)
			s.version.Store(v)
			return nil
		}
		if s.Empty() {
			return nil
		}
		ok, err := sh.Save(ctx, s.state.Load(), 0)
		if err != nil {
			return err
		}
		if ok {
			s.version.Store(1)
			return nil
		}
	}
	return errors.New("the shared state kept changing while it was read")
}

// Follow applies the versions other instances store, until ctx ends.
func (s *Service) Follow(ctx context.Context) {
	if s.opts.Shared != nil {
		s.opts.Shared.Watch(ctx, s.seen)
	}
}

// seen applies shared version v when it is newer than the one served.
func (s *Service) seen(v int64) {
	if v <= s.version.Load() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	st, cur, err := s.opts.Shared.Load(ctx)
	if err != nil {
		s.log.Warn("shared state not read", "err", err)
		return
	}
	if cur <= s.version.Load() {
		return
	}
	err = s.app.Apply(func(c *config.Config) { extend(c, st, false, s.imports) }, func() error {
		if err := saveState(s.opts.StateFile, st); err != nil {
			s.log.Warn("the local copy of the shared state was not written", "err", err)
		}
		s.state.Store(st)
		return nil
	})
	// A version this instance cannot serve (its config lacks a function
	// the change names, say) is not tried again; the next one is.
	s.version.Store(cur)
	if err != nil {
		s.log.Error("a control plane change made on another instance does not fit this instance's config; it is not served here", "version", cur, "err", err)
	}
}

// persistError is a failure to write the state file.
type persistError struct{ err error }

func (e persistError) Error() string { return e.err.Error() }

// apply checks next with the file (APIs without a stage included, so a
// route is checked when it is made, not when it is first deployed), then
// has the Applier serve it and commit it to the state file.
func (s *Service) apply(next *State, v int64) error {
	file := s.app.Config().File
	if _, _, err := config.LoadWith(file, func(c *config.Config) { extend(c, next, true, s.imports) }); err != nil {
		return refused(err)
	}
	err := s.app.Apply(func(c *config.Config) { extend(c, next, false, s.imports) }, func() error {
		if sh := s.opts.Shared; sh != nil {
			ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
			defer cancel()
			ok, err := sh.Save(ctx, next, v)
			if err != nil {
				return persistError{err}
			}
			if !ok {
				return conflict("another instance changed the control plane at the same moment; nothing changed: retry")
			}
			s.version.Store(v + 1)
			if err := saveState(s.opts.StateFile, next); err != nil {
				s.log.Warn("the local copy of the shared state was not written", "err", err)
			}
			s.state.Store(next)
			return nil
		}
		if err := saveState(s.opts.StateFile, next); err != nil {
			return persistError{err}
		}
		s.state.Store(next)
		return nil
	})
	if err != nil {
		return refused(err)
	}
	return nil
}

// refused turns why a change was not applied into AWS's answer: the
// config's problems, or a compile error, are the caller's
// (BadRequestException); a state file that cannot be written is ours.
func refused(err error) error {
	var ae *awsError
	if errors.As(err, &ae) {
		return ae
	}
	var pe persistError
	if errors.As(err, &pe) {
		return &awsError{500, "InternalServerErrorException", "the change was not applied: " + pe.Error()}
	}
	var list config.Errors
	if errors.As(err, &list) {
		msgs := make([]string, len(list))
		for i, p := range list {
			msgs[i] = p.Key + ": " + p.Msg
			if p.Key == "" {
				msgs[i] = p.String()
			}
		}
		return badRequest("%s", strings.Join(msgs, "; "))
	}
	return badRequest("%v", err)
}

// decode reads a JSON body into v; an empty body is {}.
func decode(ctx *fasthttp.RequestCtx, v any) error {
	b := ctx.Request.Body()
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return badRequest("Could not parse request body into json: %v", err)
	}
	return nil
}

// param is a path parameter.
func param(ctx *fasthttp.RequestCtx, name string) string {
	v, _ := ctx.UserValue(name).(string)
	return v
}

// page cuts items (sorted by key) after token for at most max items;
// the next token is "" on the last page.
func page[T any](items []T, key func(T) string, token, max string, defMax int) ([]T, string, error) {
	sort.Slice(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
	n := defMax
	if max != "" {
		v, err := strconv.Atoi(max)
		if err != nil || v < 1 || v > 500 {
			return nil, "", badRequest("Invalid MaxResults: want 1 to 500, got %q", max)
		}
		n = v
	}
	start := 0
	if token != "" {
		after, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			return nil, "", badRequest("Invalid NextToken %q", token)
		}
		start = sort.Search(len(items), func(i int) bool { return key(items[i]) > string(after) })
	}
	end := min(len(items), start+n)
	next := ""
	if end < len(items) && end > start {
		next = base64.RawURLEncoding.EncodeToString([]byte(key(items[end-1])))
	}
	return items[start:end], next, nil
}

// fileTag marks what comes from the config file in listings.
var fileTag = map[string]string{"frontdesk:source": "config-file"}

// readOnly answers a change to something of the config file.
func readOnly(what, id, file string) error {
	return badRequest("%s %s comes from the config file %s and is read-only here: change it in the file", what, id, file)
}

func limit(n, max int, what string) error {
	if n >= max {
		return &awsError{429, "TooManyRequestsException", fmt.Sprintf("at most %d %s", max, what)}
	}
	return nil
}
