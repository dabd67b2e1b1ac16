# Image for docker-compose.yml: the API, the worker and the simulator share it.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY . .
# A throwaway service account for the simulator's OAuth endpoint; mount Google's JSON key in production.
RUN node -e "const c=require('crypto');const {privateKey}=c.generateKeyPairSync('rsa',{modulusLength:2048});require('fs').writeFileSync('config/fcm-service-account.json',JSON.stringify({client_email:'messaging@compose.iam.gserviceaccount.com',private_key:privateKey.export({type:'pkcs8',format:'pem'})}))"
