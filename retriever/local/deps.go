package local

import _ "go.etcd.io/bbolt"
