#!/usr/bin/env bash
# Make sure the real services the tests talk to are installed and running on loopback:
# PostgreSQL, Redis, Debian's Chromium (for browser tests), Dovecot (the IMAP tests start their
# own throwaway server on a free loopback port) and msgconvert (Outlook .msg files read as mail).
# Installs from Debian's packages when something is missing; never downloads anything else.
set -euo pipefail

need_apt=()
have() { command -v "$1" >/dev/null 2>&1; }

have redis-server || need_apt+=(redis-server)
have pg_ctlcluster || need_apt+=(postgresql)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
[ -x /usr/sbin/dovecot ] || need_apt+=(dovecot-imapd)
# msgconvert needs Email::Address, which the package only recommends (and recommends are not installed).
{ have msgconvert && perl -MEmail::Address -e 1 2>/dev/null; } \
  || need_apt+=(libemail-outlook-message-perl libemail-address-perl)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing from Debian's packages: ${need_apt[*]}"
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # The package may start a system Dovecot on 143/993; the tests never use it.
  case " ${need_apt[*]} " in *" dovecot-imapd "*) $SUDO service dovecot stop >/dev/null 2>&1 || true ;; esac
fi

# Redis on 127.0.0.1:6379, nothing persisted.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis on 127.0.0.1:6379"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/helpdesk-tests.log
  for _ in $(seq 50); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.1; done
fi

# PostgreSQL on 127.0.0.1:5432 with a database "test" the tests can create throwaway databases from.
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL"
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 100); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.1; done
fi
if ! psql -h 127.0.0.1 -U postgres -d test -Atc 'select 1' >/dev/null 2>&1; then
  # A fresh Debian cluster: local socket as the postgres user works; allow trust on loopback for tests.
  su postgres -c "psql -Atc \"select 1 from pg_database where datname='test'\"" | grep -q 1 \
    || su postgres -c "createdb test"
  hba=$(su postgres -c "psql -Atc 'show hba_file'")
  if ! grep -q "helpdesk-tests" "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust # helpdesk-tests\nhost all all ::1/128 trust # helpdesk-tests' "$hba"
    su postgres -c "psql -Atc 'select pg_reload_conf()'" >/dev/null
  fi
fi
pg_isready -h 127.0.0.1 -p 5432
redis-cli -h 127.0.0.1 ping
