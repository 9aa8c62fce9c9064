# Sourced by the benchmark scripts: a staff sign-in through the embedded sandbox's sign-in page
# with curl. `curl_sign_in BASE JAR` leaves the session cookie in JAR and prints "name=value".
curl_sign_in() {
  local base=$1 jar=$2 authorize page pending user callback
  authorize=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" -H "Origin: $base" -d return_to=/dashboard "$base/auth/login")
  page=$(curl -s -c "$jar" -b "$jar" "$authorize")
  pending=$(grep -o 'name="pending" value="[^"]*"' <<<"$page" | head -1 | sed 's/.*value="//; s/"$//')
  user=$(grep -o 'name="user" value="[^"]*"' <<<"$page" | head -1 | sed 's/.*value="//; s/"$//')
  callback=$(curl -s -o /dev/null -w '%{redirect_url}' -c "$jar" -b "$jar" \
    --data-urlencode "pending=$pending" --data-urlencode "user=$user" -d decision=allow "${authorize%%\?*}")
  curl -s -o /dev/null -c "$jar" -b "$jar" "$callback"
  awk '$6 == "portal-session" { print $6 "=" $7 }' "$jar"
}
