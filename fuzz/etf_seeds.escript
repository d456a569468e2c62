#!/usr/bin/env escript
%% etf_seeds.escript DIR - writes the seed corpus of fuzz_etf (see the
%% input format at the top of fuzz/fuzz_etf.c): Discord-like payloads as
%% the Erlang runtime encodes them, the commands libdgw sends as JSON, and
%% zlib streams. Run by hand; the output is committed in corpus/fuzz_etf.
-mode(compile).

main([Dir]) ->
    Ready = #{op => 0, s => 1, t => 'READY',
              d => #{v => 10, session_id => <<"9f3c2a">>,
                     resume_gateway_url => <<"wss://gateway-us-east1-b.discord.gg">>,
                     user => #{id => 1100000000000000001, username => <<"bot">>,
                               bot => true, avatar => nil, flags => 0},
                     guilds => [#{id => 613425648685547541 + I, unavailable => true}
                                || I <- lists:seq(1, 20)],
                     shard => [0, 1], application => #{id => 1100000000000000002,
                                                       flags => 565248}}},
    Msg = #{op => 0, s => 42, t => 'MESSAGE_CREATE',
            d => #{id => 1234567890123456789, channel_id => 81384788765712384,
                   content => <<"hé \"q\" \n 😀"/utf8>>, tts => false,
                   mentions => [], mention_roles => [], embeds => [],
                   timestamp => <<"2024-05-01T12:34:56.789000+00:00">>,
                   edited_timestamp => nil, nonce => -5, pinned => false,
                   author => #{id => 1, username => <<"u">>, global_name => nil},
                   member => #{roles => [<<"1">>], joined_at => <<"x">>,
                               deaf => false, nick => 'caf\x{e9}'},
                   attachments => [#{size => 1024, width => 1.5e3,
                                     duration_secs => 2.25}]}},
    Presence = #{op => 0, s => 7, t => 'PRESENCE_UPDATE',
                 d => #{user => #{id => 18446744073709551615}, status => online,
                        activities => [{1, 2}, "chars", [1, 2 | []]],
                        client_status => #{desktop => dnd, 7 => x, "k" => <<>>},
                        since => -1.0e-300}},
    Hello = #{op => 10, d => #{heartbeat_interval => 41250}, s => nil, t => nil},
    Ack = #{op => 11},
    Terms = [Ready, Msg, Presence, Hello, Ack],
    Variants = [[], [{minor_version, 0}], [{minor_version, 2}], [compressed]],
    N = lists:foldl(
          fun({T, I}, Acc) ->
                  lists:foldl(
                    fun({Opts, J}, A2) ->
                            B = term_to_binary(T, Opts),
                            <<131, Body/binary>> = B,
                            w(Dir, io_lib:format("dec-~b-~b", [I, J]), [0, B]),
                            w(Dir, io_lib:format("dec4096-~b-~b", [I, J]), [16#10, B]),
                            w(Dir, io_lib:format("decnover-~b-~b", [I, J]), [4, Body]),
                            w(Dir, io_lib:format("tag80-~b-~b", [I, J]), [3, Body]),
                            A2 + 4
                    end, Acc, lists:zip(Variants, lists:seq(1, length(Variants))))
          end, 0, lists:zip(Terms, lists:seq(1, length(Terms)))),
    Commands =
        [<<"{\"op\":2,\"d\":{\"token\":\"Bot abc\",\"intents\":3276799,\"properties\":{\"os\":\"linux\",\"browser\":\"libdgw\",\"device\":\"libdgw\"},\"shard\":[0,16],\"presence\":{\"since\":null,\"activities\":[],\"status\":\"online\",\"afk\":false}}}">>,
         <<"{\"op\":6,\"d\":{\"token\":\"t\",\"session_id\":\"a1b2c3\",\"seq\":1337}}">>,
         <<"{\"op\":1,\"d\":null}">>,
         <<"{\"op\":1,\"d\":251}">>,
         <<"{\"op\":3,\"d\":{\"since\":1714567890123,\"activities\":[{\"name\":\"caf\\u00e9 \\ud83c\\udfae\",\"type\":0}],\"status\":\"dnd\",\"afk\":true}}">>,
         <<"{\"op\":4,\"d\":{\"guild_id\":\"41771983423143937\",\"channel_id\":null,\"self_mute\":false,\"self_deaf\":true}}">>,
         <<"{\"op\":8,\"d\":{\"guild_id\":\"41771983423143937\",\"query\":\"\",\"limit\":0,\"user_ids\":[\"1\"],\"nonce\":\"n\"}}">>,
         <<"{\"op\":31,\"d\":{\"guild_ids\":[\"613425648685547541\"]}}">>,
         <<"{\"op\":43,\"d\":{\"guild_id\":\"613425648685547541\",\"fields\":[\"status\",\"voice_start_time\"]}}">>,
         <<"[18446744073709551615,-9223372036854775808,1.5e-7,0.1,-0.0,1e308,[0,255,256],{}]">>],
    lists:foreach(fun({C, I}) ->
                          w(Dir, io_lib:format("enc-~b", [I]), [1, C]),
                          w(Dir, io_lib:format("enc64k-~b", [I]), [16#11, C]),
                          w(Dir, io_lib:format("inflate-json-~b", [I]), [2, 0, 1, C]),
                          w(Dir, io_lib:format("inflate-zlib-~b", [I]), [2, 0, 0, zlib:compress(C)])
                  end, lists:zip(Commands, lists:seq(1, length(Commands)))),
    io:format("~b + ~b seeds in ~s~n", [N, 4 * length(Commands), Dir]).

w(Dir, Name, Data) ->
    ok = file:write_file(filename:join(Dir, lists:flatten(Name)), Data).
