// Package etcdembed starts a small etcd cluster inside the current process,
// on 127.0.0.1, for tests, benchmarks and the cluster demo.
//
// Every member is a real etcd server (go.etcd.io/etcd/server/v3/embed) with
// its own data directory, Raft log and peer and client listeners, so quorum,
// leader election, compaction and watch behave as in a deployment; only the
// processes are shared. Stopping a member closes its listeners and its Raft
// node (a graceful stop, the nearest an in-process member gets to kill -9:
// its WAL is fsynced per commit, so what it acknowledged survives either way).
package etcdembed

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Options shape a cluster. The zero value (with Dir set) is a 3-member
// cluster with etcd's default limits and no logging.
type Options struct {
	// Members is the cluster size; 0 means 3. Odd sizes tolerate
	// (Members-1)/2 stopped members.
	Members int
	// Dir holds one sub-directory per member (member-0, member-1, …).
	Dir string
	// MaxRequestBytes and MaxTxnOps override etcd's limits (1.5 MiB, 128
	// operations per transaction) when non-zero.
	MaxRequestBytes uint
	MaxTxnOps       uint
	// Logger receives etcd's logs; nil discards them (etcd logs every
	// election and snapshot at info level, which buries test output).
	Logger *zap.Logger
	// ReadyTimeout bounds how long Start and Restart wait for a member to
	// join its cluster; 0 means 20 s (leader election on a loaded 2-core
	// machine can take several election timeouts).
	ReadyTimeout time.Duration
}

// Cluster is a running embedded etcd cluster. Its methods are safe for
// concurrent use.
type Cluster struct {
	opts    Options
	mu      sync.Mutex
	members []*member
}

type member struct {
	name       string
	dir        string
	peerURL    url.URL
	clientURL  url.URL
	etcd       *embed.Etcd // nil while stopped
	everJoined bool
}

// Start creates and starts a cluster in opts.Dir and returns once every
// member has joined and a leader is elected.
func Start(opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("etcdembed: Options.Dir is required")
	}
	if opts.Members == 0 {
		opts.Members = 3
	}
	if opts.Members < 1 {
		return nil, fmt.Errorf("etcdembed: %d members", opts.Members)
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 20 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	// Ports come from the kernel (listen on :0, then release) because every
	// member must know every peer URL before the first one starts. Another
	// process can grab a released port in between; a bind failure therefore
	// retries with fresh ports rather than failing the caller.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c, err := start(opts)
		if err == nil {
			return c, nil
		}
		lastErr = err
		if !isAddrInUse(err) {
			break
		}
	}
	return nil, lastErr
}

func start(opts Options) (*Cluster, error) {
	ports, err := freePorts(2 * opts.Members)
	if err != nil {
		return nil, err
	}
	c := &Cluster{opts: opts}
	for i := 0; i < opts.Members; i++ {
		c.members = append(c.members, &member{
			name:      fmt.Sprintf("member-%d", i),
			dir:       filepath.Join(opts.Dir, fmt.Sprintf("member-%d", i)),
			peerURL:   url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[2*i])},
			clientURL: url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[2*i+1])},
		})
	}
	// Members start concurrently: each one's ReadyNotify needs a quorum, so
	// starting and waiting one by one would deadlock past the first.
	errs := make([]error, len(c.members))
	var wg sync.WaitGroup
	for i := range c.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.startMember(c.members[i])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) initialCluster() string {
	parts := make([]string, len(c.members))
	for i, m := range c.members {
		parts[i] = m.name + "=" + m.peerURL.String()
	}
	return strings.Join(parts, ",")
}

func (c *Cluster) startMember(m *member) error {
	cfg := embed.NewConfig()
	cfg.Name = m.name
	cfg.Dir = m.dir
	cfg.ListenPeerUrls = []url.URL{m.peerURL}
	cfg.AdvertisePeerUrls = []url.URL{m.peerURL}
	cfg.ListenClientUrls = []url.URL{m.clientURL}
	cfg.AdvertiseClientUrls = []url.URL{m.clientURL}
	cfg.InitialCluster = c.initialCluster()
	cfg.InitialClusterToken = "computescale-embedded"
	if m.everJoined {
		cfg.ClusterState = embed.ClusterStateFlagExisting
	}
	if c.opts.MaxRequestBytes > 0 {
		cfg.MaxRequestBytes = c.opts.MaxRequestBytes
	}
	if c.opts.MaxTxnOps > 0 {
		cfg.MaxTxnOps = c.opts.MaxTxnOps
	}
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(c.opts.Logger)
	cfg.LogLevel = "error"
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("etcdembed: start %s: %w", m.name, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return fmt.Errorf("etcdembed: %s failed while joining: %w", m.name, err)
	case <-time.After(c.opts.ReadyTimeout):
		e.Close()
		return fmt.Errorf("etcdembed: %s not ready after %s", m.name, c.opts.ReadyTimeout)
	}
	c.mu.Lock()
	m.etcd = e
	m.everJoined = true
	c.mu.Unlock()
	return nil
}

// Endpoints returns every member's client URL (http://127.0.0.1:port), in
// member order, including stopped members: etcd clients skip dead endpoints.
func (c *Cluster) Endpoints() []string {
	out := make([]string, len(c.members))
	for i, m := range c.members {
		out[i] = m.clientURL.String()
	}
	return out
}

// Endpoint returns member i's client URL.
func (c *Cluster) Endpoint(i int) string { return c.members[i].clientURL.String() }

// Size is the number of members, running or stopped.
func (c *Cluster) Size() int { return len(c.members) }

// Running reports whether member i is started.
func (c *Cluster) Running(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.members[i].etcd != nil
}

// Client returns a client for every member's endpoint; the caller closes it.
func (c *Cluster) Client() (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   c.Endpoints(),
		DialTimeout: 5 * time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("etcdembed: client: %w", err)
	}
	return cli, nil
}

// Stop stops member i, keeping its data directory and ports for Restart.
// Stopping a stopped member is a no-op.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	e := c.members[i].etcd
	c.members[i].etcd = nil
	c.mu.Unlock()
	if e != nil {
		e.Close()
	}
}

// Restart starts a stopped member again on the same ports and data
// directory; it rejoins and catches up from the leader. Restarting a running
// member is a no-op.
func (c *Cluster) Restart(i int) error {
	if c.Running(i) {
		return nil
	}
	return c.startMember(c.members[i])
}

// Close stops every member. Data directories stay (they belong to the
// caller's Dir).
func (c *Cluster) Close() {
	var wg sync.WaitGroup
	for i := range c.members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Stop(i)
		}()
	}
	wg.Wait()
}

// WaitLeader blocks until the running members agree on a leader that serves
// a linearizable read, or ctx ends.
func (c *Cluster) WaitLeader(ctx context.Context) error {
	cli, err := c.Client()
	if err != nil {
		return err
	}
	defer cli.Close()
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := cli.Get(rctx, "etcdembed/probe")
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("etcdembed: no leader: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("etcdembed: free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func isAddrInUse(err error) bool {
	return err != nil && strings.Contains(err.Error(), "address already in use")
}
