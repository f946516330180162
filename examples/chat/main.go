// Command chat is the backend of the WebSocket chat example: a plain,
// stateless-looking HTTP service behind frontdesk's WebSocket API, in the
// shape of AWS's simple-websockets-chat-app.
//
// frontdesk POSTs every WebSocket event (CONNECT, MESSAGE, DISCONNECT) to
// /events. The backend keeps the connection ids in memory and, on
// {"action":"sendmessage","data":"..."}, sends the data to every
// connection through the gateway's @connections API. It also serves the
// chat page at /, which connects to the WebSocket URL given as ?ws=... or
// the -ws default.
//
// Set CHAT_AK and CHAT_SK (the API's management credentials) to sign the
// @connections calls with SigV4; without them the gateway only accepts
// the calls from loopback addresses.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

//go:embed index.html
var indexHTML string

func main() {
	listen := flag.String("listen", "127.0.0.1:9100", "address to serve /events and the chat page on")
	connections := flag.String("connections", "http://127.0.0.1:8080/prod/@connections", "the gateway's @connections base URL")
	wsURL := flag.String("ws", "ws://127.0.0.1:8080/prod", "WebSocket URL the page connects to when it has no ?ws=")
	region := flag.String("region", "us-east-1", "region in the SigV4 scope of @connections calls")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	app, err := newServer(config{
		ConnectionsURL: *connections,
		WebSocketURL:   *wsURL,
		AccessKeyID:    os.Getenv("CHAT_AK"),
		SecretKey:      os.Getenv("CHAT_SK"),
		Region:         *region,
		Log:            log,
	})
	if err != nil {
		log.Error("chat: bad configuration", "err", err)
		os.Exit(2)
	}
	srv := &http.Server{Addr: *listen, Handler: app.handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("chat backend listening", "addr", *listen, "page", "http://"+*listen+"/", "connections", *connections)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("chat: serve", "err", err)
		os.Exit(1)
	}
}

type config struct {
	ConnectionsURL string // e.g. http://127.0.0.1:8080/prod/@connections
	WebSocketURL   string // the page's default
	AccessKeyID    string // empty: unsigned @connections calls
	SecretKey      string
	Region         string
	Log            *slog.Logger
}

// server is the chat backend. Its only state is the set of connection
// ids, as a DynamoDB table would hold them in the AWS sample.
type server struct {
	cfg    config
	page   *template.Template
	client *http.Client
	signer *v4.Signer

	mu    sync.Mutex
	conns map[string]struct{}
}

func newServer(cfg config) (*server, error) {
	if (cfg.AccessKeyID == "") != (cfg.SecretKey == "") {
		return nil, errors.New("set both CHAT_AK and CHAT_SK, or neither")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	cfg.ConnectionsURL = strings.TrimSuffix(cfg.ConnectionsURL, "/")
	page, err := template.New("index").Parse(indexHTML)
	if err != nil {
		return nil, fmt.Errorf("chat page: %w", err)
	}
	return &server{
		cfg:    cfg,
		page:   page,
		client: &http.Client{Timeout: 5 * time.Second},
		signer: v4.NewSigner(),
		conns:  make(map[string]struct{}),
	}, nil
}

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events", s.event)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = s.page.Execute(w, struct{ WebSocketURL string }{s.cfg.WebSocketURL})
	})
	return mux
}

// wsEvent is the part of API Gateway's WebSocket event the chat reads.
type wsEvent struct {
	RequestContext struct {
		RouteKey     string `json:"routeKey"`
		EventType    string `json:"eventType"`
		ConnectionID string `json:"connectionId"`
	} `json:"requestContext"`
	Body string `json:"body"`
}

func (s *server) event(w http.ResponseWriter, r *http.Request) {
	var ev wsEvent
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&ev); err != nil {
		http.Error(w, "bad event", http.StatusBadRequest)
		return
	}
	id := ev.RequestContext.ConnectionID
	switch ev.RequestContext.EventType {
	case "CONNECT":
		s.mu.Lock()
		s.conns[id] = struct{}{}
		s.mu.Unlock()
		s.cfg.Log.Info("connected", "connectionId", id)
	case "DISCONNECT":
		s.forget(id)
		s.cfg.Log.Info("disconnected", "connectionId", id)
	case "MESSAGE":
		var msg struct {
			Action string `json:"action"`
			Data   string `json:"data"`
		}
		if json.Unmarshal([]byte(ev.Body), &msg) != nil || msg.Action != "sendmessage" {
			// The $default route replies: this body goes back to the sender.
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"error":"unknown message; send {\"action\":\"sendmessage\",\"data\":\"...\"}"}`)
			return
		}
		s.broadcast(r.Context(), msg.Data)
	}
	w.WriteHeader(http.StatusOK)
}

func (s *server) forget(id string) {
	s.mu.Lock()
	delete(s.conns, id)
	s.mu.Unlock()
}

// broadcast posts data to every known connection, a few at a time, and
// forgets the ones the gateway reports gone.
func (s *server) broadcast(ctx context.Context, data string) {
	s.mu.Lock()
	ids := make([]string, 0, len(s.conns))
	for id := range s.conns {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	sort.Strings(ids)

	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			status, err := s.post(ctx, id, []byte(data))
			switch {
			case err != nil:
				s.cfg.Log.Warn("post to connection failed", "connectionId", id, "err", err)
			case status == http.StatusGone:
				s.forget(id)
			case status != http.StatusOK:
				s.cfg.Log.Warn("post to connection refused", "connectionId", id, "status", status)
			}
		}()
	}
	wg.Wait()
}

// post is PostToConnection: POST {connections}/{id} with the raw data.
func (s *server) post(ctx context.Context, id string, data []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		s.cfg.ConnectionsURL+"/"+url.PathEscape(id), bytes.NewReader(data))
	if err != nil {
		return 0, fmt.Errorf("building request: %w", err)
	}
	if s.cfg.AccessKeyID != "" {
		sum := sha256.Sum256(data)
		creds := aws.Credentials{AccessKeyID: s.cfg.AccessKeyID, SecretAccessKey: s.cfg.SecretKey}
		if err := s.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", s.cfg.Region, time.Now()); err != nil {
			return 0, fmt.Errorf("signing: %w", err)
		}
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("POST @connections: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// connectionCount reports how many connections the chat knows.
func (s *server) connectionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}
