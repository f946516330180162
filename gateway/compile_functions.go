package gateway

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/frontdeskgw/frontdesk/config"
	"github.com/frontdeskgw/frontdesk/lambda/host"
	"github.com/frontdeskgw/frontdesk/lambda/invoke"
)

// FunctionEnv is what a function takes from the process rather than from
// its config.
type FunctionEnv struct {
	// Watch restarts local instances when their code changes (the files
	// host.CodePaths finds in the command).
	Watch bool
	Log   *slog.Logger
}

// invokeSetupTimeout bounds building an Invoke API client (reading the
// AWS credential chain).
const invokeSetupTimeout = 10 * time.Second

// OpenFunction starts function name of a config: a local one under the
// function host, a remote one as an Invoke API client. It is what the
// Functions registry opens an entry with.
func OpenFunction(name string, fc config.Function, env FunctionEnv) (*Function, error) {
	fn, err := openFunction(name, fc, env)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	return fn, nil
}

func openFunction(name string, fc config.Function, env FunctionEnv) (*Function, error) {
	if len(fc.Command) > 0 {
		var watchPaths []string
		if env.Watch {
			// An interpreted function's code is its script, not the
			// interpreter that is its executable.
			watchPaths = host.CodePaths(fc.Command, "")
		}
		hf, err := host.NewFunction(host.Config{
			Name:        name,
			Command:     fc.Command,
			Env:         fc.Env,
			Concurrency: fc.Concurrency,
			Timeout:     fc.Timeout.D(),
			Region:      fc.Region,
			Watch:       env.Watch,
			WatchPaths:  watchPaths,
		}, env.Log) // the host names the function on its lines itself
		if err != nil {
			return nil, err
		}
		return &Function{Invoker: hf, Close: func() { _ = hf.Close() }}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), invokeSetupTimeout)
	defer cancel()
	c, err := invoke.New(ctx, invoke.Config{
		InvokeURL:    fc.InvokeURL,
		FunctionName: fc.FunctionName,
		Timeout:      fc.Timeout.D(),
		Region:       fc.Region,
		Logger:       env.Log.With("function", name),
	})
	if err != nil {
		return nil, err
	}
	return &Function{Invoker: c, Close: c.Close}, nil
}
